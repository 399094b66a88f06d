using System.Runtime.InteropServices;

namespace RunscNet.LinuxInterop;

// The kernel structs more than one assembly passes to libc, declared once (x86-64 layouts).
// Tmds.LibC has equivalents, but with typedef wrappers (dev_t, off_t...) on every field and
// glibc's stat routed through __xstat; these are the kernel's layouts with plain fields.

/// <summary>struct stat of x86-64 (144 bytes; st_dev and st_ino come first on arm64 too).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct LinuxStat
{
    public ulong Dev;
    public ulong Ino;
    public ulong Nlink;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public int Pad0;
    public ulong Rdev;
    public long Size;
    public long Blksize;
    public long Blocks;
    public long AtimeSec;
    public long AtimeNsec;
    public long MtimeSec;
    public long MtimeNsec;
    public long CtimeSec;
    public long CtimeNsec;
    public long Reserved0, Reserved1, Reserved2;
}

/// <summary>struct timespec.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timespec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary>One classic BPF instruction (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SockFilter
{
    public ushort Code;
    public byte JumpTrue;
    public byte JumpFalse;
    public uint K;
}

/// <summary>struct sock_fprog: a classic BPF program for seccomp(2) or SO_ATTACH_FILTER.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SockFprog
{
    public ushort Length;
    public SockFilter* Filter;
}
