using RunscNet.StateFile;
using System.Text.Json;
using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>features</c>: what this runtime implements, in the JSON layout of the OCI features document.</summary>
[Verb("features", HelpText = "print the features of this runtime as JSON")]
public sealed class FeaturesCommand : ICommand
{
    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        using var stdout = RawStdio.Open(1);
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("ociVersionMin", "1.0.0");
            json.WriteString("ociVersionMax", RuntimeVersion.OciSpecVersion);
            WriteArray(json, "hooks", ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
            WriteArray(json, "mountOptions", ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "strictatime", "bind", "rbind",
                "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable", "mode", "size", "nr_inodes"]);
            json.WriteStartObject("linux");
            WriteArray(json, "namespaces", ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]);
            WriteArray(json, "capabilities", [.. Sentry.Boot.Capabilities.All]);
            json.WriteStartObject("cgroup");
            json.WriteBoolean("v1", true);
            json.WriteBoolean("v2", true);
            json.WriteEndObject();
            // linux.seccomp is enforced by the Sentry on the container's system calls (no host filter).
            json.WriteStartObject("seccomp");
            json.WriteBoolean("enabled", true);
            WriteArray(json, "actions", ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]);
            WriteArray(json, "operators", ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]);
            WriteArray(json, "archs", ["SCMP_ARCH_X86_64"]);
            WriteArray(json, "supportedFlags", ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("annotations");
            json.WriteString("io.github.runsc-net.version", RuntimeVersion.Version);
            json.WriteString("io.github.runsc-net.platform", context.Global.Platform);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
        return 0;
    }

    private static void WriteArray(Utf8JsonWriter json, string name, string[] values)
    {
        json.WriteStartArray(name);
        foreach (string v in values) json.WriteStringValue(v);
        json.WriteEndArray();
    }
}
