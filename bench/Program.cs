using BenchmarkDotNet.Running;

namespace RunscNet.Bench;

/// <summary>Entry point: runs the micro-benchmarks chosen on the command line (BenchmarkDotNet switcher).</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
