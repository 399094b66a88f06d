using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Platform.Systrap;
using Xunit;

namespace RunscNet.Tests.Sentry.Platform;

/// <summary>
/// The hand-written machine code of the platforms is kept as assembly source in
/// sandbox/Platform/Asm/ (scripts/gen-stub-code.sh prints the C# bytes from it): each array in
/// the Sentry must be exactly what GNU as makes of its source, so the source is the truth.
/// </summary>
public sealed class MachineCodeTests
{
    private static string AsmDir([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "..", "sandbox", "Platform", "Asm"));

    public static TheoryData<string, Type, string> Sources => new()
    {
        { "systrap-stub.S", typeof(SystrapStub), "Code" },
        { "stub-launcher.S", typeof(SystrapStub).Assembly.GetType("RunscNet.Sentry.Platform.Systrap.StubLauncher")!, "Code" },
        { "stub-image.S", typeof(StubImage), "Code" },
        { "ptrace-spawn.S", typeof(PtracePlatform), "SpawnCode" },
    };

    [BinutilsTheory]
    [MemberData(nameof(Sources))]
    public void CheckedInBytesAreTheAssembledSource(string source, Type type, string field)
    {
        string dir = Directory.CreateTempSubdirectory("runsc-net-asm-").FullName;
        try
        {
            Run("as", "--64", "-o", Path.Combine(dir, "code.o"), Path.Combine(AsmDir(), source));
            Run("objcopy", "-O", "binary", "-j", ".text", Path.Combine(dir, "code.o"), Path.Combine(dir, "code.bin"));
            byte[] assembled = File.ReadAllBytes(Path.Combine(dir, "code.bin"));
            var checkedIn = (byte[])type.GetField(field, BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
            Assert.Equal(Convert.ToHexString(assembled), Convert.ToHexString(checkedIn));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A theory skipped, with the reason, when binutils are missing.</summary>
    private sealed class BinutilsTheoryAttribute : TheoryAttribute
    {
        public BinutilsTheoryAttribute()
        {
            if (!OnPath("as") || !OnPath("objcopy"))
                Skip = "binutils (as, objcopy) are not installed (.ci/run installs gcc, which brings them)";
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {err}");
    }
}
