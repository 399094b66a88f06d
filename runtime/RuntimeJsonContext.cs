using System.Text.Json.Serialization;

namespace RunscNet.Runtime;

/// <summary>Source-generated JSON metadata for the runtime's own small outputs (ps --format json).</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(List<int>))]
public sealed partial class RuntimeJsonContext : JsonSerializerContext
{
}
