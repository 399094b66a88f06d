using BenchmarkDotNet.Attributes;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Platform.Systrap;

namespace RunscNet.Bench;

/// <summary>
/// One application system call through each platform, without the kernel: the stub runs
/// <c>syscall; jmp -4</c> and every operation is one <see cref="IPlatformContext.Run"/> (stop,
/// hand the registers to the Sentry, write a result, resume). Run with
/// <c>dotnet run -c Release --project bench -- --filter *PlatformRoundTrip* --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class PlatformRoundTripBenchmarks
{
    private const ulong CodeAddress = 0x10000000;
    private IPlatformContext _ctx = null!;

    /// <summary>The platform measured.</summary>
    [Params("ptrace", "systrap")]
    public string Platform { get; set; } = "systrap";

    /// <summary>Starts a stub and points it at the loop (on the thread that runs the benchmark).</summary>
    [GlobalSetup]
    public void Setup()
    {
        IPlatform platform = Platform == "ptrace" ? new PtracePlatform() : new SystrapPlatform();
        _ctx = platform.NewAddressSpace();
        long at = _ctx.HostSyscall(9, CodeAddress, 0x1000, 7, 0x32, ulong.MaxValue, 0);
        if (at != (long)CodeAddress) throw new InvalidOperationException($"mmap in the stub: {at}");
        _ctx.Memory.Write(CodeAddress, new byte[] { 0x0f, 0x05, 0xeb, 0xfc });
        _ctx.Regs.Rip = CodeAddress;
        _ctx.Regs.Rsp = CodeAddress + 0x800;
        _ctx.Regs.Rax = 39;
    }

    /// <summary>Kills the stub.</summary>
    [GlobalCleanup]
    public void Cleanup() => _ctx.Dispose();

    /// <summary>One system-call stop and resume (the result is the next call's number: getpid).</summary>
    [Benchmark]
    public StopReason SyscallRoundTrip()
    {
        var r = _ctx.Run();
        _ctx.Regs.Rax = 39;
        return r;
    }
}
