using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Platform;

/// <summary>Application memory of one stub process through process_vm_readv/writev.</summary>
public sealed unsafe class PtraceMemory : IMemoryIO
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
            var local = new ProcessMemory.IoVec { Base = p, Length = (nuint)destination.Length };
            var remote = new ProcessMemory.IoVec { Base = (void*)address, Length = (nuint)destination.Length };
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
            var local = new ProcessMemory.IoVec { Base = p, Length = (nuint)source.Length };
            var remote = new ProcessMemory.IoVec { Base = (void*)address, Length = (nuint)source.Length };
            nint n = ProcessMemory.WriteV(_pid, &local, 1, &remote, 1, 0);
            return n < 0 ? 0 : (int)n;
        }
    }
}
