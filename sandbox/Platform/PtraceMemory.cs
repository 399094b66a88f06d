using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Memory;
using Tmds.Linux;

namespace RunscNet.Sentry.Platform;

/// <summary>Application memory of one stub process through process_vm_readv/writev.</summary>
internal sealed unsafe class PtraceMemory : IMemoryIO
{
    private readonly int _pid;

    /// <summary>Memory of host process <paramref name="pid"/>.</summary>
    public PtraceMemory(int pid) => _pid = pid;

    /// <inheritdoc/>
    public int Read(ulong address, Span<byte> destination)
    {
        if (destination.Length == 0) return 0;
        fixed (byte* p = destination)
        {
            var local = new iovec { iov_base = p, iov_len = destination.Length };
            var remote = new iovec { iov_base = (void*)address, iov_len = destination.Length };
            nint n = ProcessMemory.ReadV(_pid, &local, 1, &remote, 1, 0);
            return n < 0 ? 0 : (int)n;
        }
    }

    /// <inheritdoc/>
    public int Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (source.Length == 0) return 0;
        fixed (byte* p = source)
        {
            var local = new iovec { iov_base = p, iov_len = source.Length };
            var remote = new iovec { iov_base = (void*)address, iov_len = source.Length };
            nint n = ProcessMemory.WriteV(_pid, &local, 1, &remote, 1, 0);
            return n < 0 ? 0 : (int)n;
        }
    }
}
