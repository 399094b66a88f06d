using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>process_vm_readv/writev(2): copying memory of another process.</summary>
internal static unsafe partial class ProcessMemory
{
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    public static partial nint ReadV(int pid, IoVec* local, ulong localCount, IoVec* remote, ulong remoteCount, ulong flags);

    [LibraryImport("libc", EntryPoint = "process_vm_writev", SetLastError = true)]
    public static partial nint WriteV(int pid, IoVec* local, ulong localCount, IoVec* remote, ulong remoteCount, ulong flags);
}
