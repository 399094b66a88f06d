using System.Runtime.InteropServices;

namespace RunscNet.Gofer.Interop;

/// <summary>struct dl_phdr_info (link.h), the fields every glibc has.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DlPhdrInfo
{
    public nuint Address;
    public byte* Name;
    public ElfProgramHeader* Headers;
    public ushort HeaderCount;
}

/// <summary>Elf64_Phdr (elf.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ElfProgramHeader
{
    public uint Type;
    public uint Flags;
    public ulong Offset;
    public ulong VirtualAddress;
    public ulong PhysicalAddress;
    public ulong FileSize;
    public ulong MemorySize;
    public ulong Align;
}

/// <summary>The ELF objects of this process (dl_iterate_phdr(3)) and madvise(2) on their pages.</summary>
internal static unsafe partial class LoadedObjects
{
    public const uint PT_LOAD = 1, PT_DYNAMIC = 2, PF_W = 2;
    public const long DT_NULL = 0, DT_TEXTREL = 22, DT_FLAGS = 30, DF_TEXTREL = 4;
    public const int MADV_DONTNEED = 4;

    /// <summary>dl_iterate_phdr(3): calls <paramref name="callback"/>(info, size, data) per loaded object until it returns non-zero.</summary>
    [LibraryImport("libc", EntryPoint = "dl_iterate_phdr")]
    public static partial int IteratePhdr(delegate* unmanaged<DlPhdrInfo*, nuint, void*, int> callback, void* data);

    /// <summary>madvise(2); -1 and errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nuint address, nuint length, int advice);
}
