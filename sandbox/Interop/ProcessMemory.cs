using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Sentry.Interop;

/// <summary>process_vm_readv/writev(2): copying memory of another process (not in Tmds.LibC; its iovec is).</summary>
internal static unsafe partial class ProcessMemory
{
    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    public static partial nint ReadV(int pid, iovec* local, ulong localCount, iovec* remote, ulong remoteCount, ulong flags);

    [LibraryImport("libc", EntryPoint = "process_vm_writev", SetLastError = true)]
    public static partial nint WriteV(int pid, iovec* local, ulong localCount, iovec* remote, ulong remoteCount, ulong flags);
}
