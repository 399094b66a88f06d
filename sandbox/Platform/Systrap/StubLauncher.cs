using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// Starts a stub process from machine code, so the cloned child never runs managed code. (A raw
/// <c>clone</c> P/Invoke returns into the runtime in the child, a copy of a multi-threaded
/// process: if a garbage collection was suspending threads at that moment, the child waits
/// forever for a GC that will not happen there.) The trampoline, called through an unmanaged
/// function pointer: block every signal (saving the mask), <c>clone(CLONE_VM | CLONE_VFORK)</c> with
/// exit signal 0 (the child borrows the Sentry's memory and stack until its exec, as vfork does:
/// no copy of a .NET process's page tables per exec); the
/// parent restores its mask and returns the pid (or -errno); the child sets PR_SET_PDEATHSIG to
/// SIGKILL, leaves boot's host process group (setpgid(0, 0): the console's ^C, ^\, ^Z
/// and hang-up go to that group, the terminal's foreground, and must not reach a stub) and sets
/// them to SIG_IGN, which discards one that reached it during the clone; dups the stub image onto fd 0 (close-on-exec) and the shared-page memfd onto fd 1,
/// closes everything from fd 2 up and execveats fd 0 (the stub unblocks signals itself), or exits
/// with status 127. Argument: a pointer to the <see cref="Request"/> block.
/// </summary>
internal static unsafe class StubLauncher
{
    /// <summary>What the trampoline reads (offsets fixed by its code).</summary>
    public struct Request
    {
        public long StubFd;        // +0
        public long SharedFd;      // +8
        public nint EmptyPath;     // +16
        public nint Argv;          // +24
        public nint Envp;          // +32
        public ulong AllSignals;   // +40
    }

    private static readonly byte[] Code =
    {
        // spawn:
        0x41, 0x54,                                                   // 000  push r12
        0x41, 0x55,                                                   // 002  push r13
        0x48, 0x83, 0xec, 0x18,                                       // 004  sub rsp,0x18
        0x49, 0x89, 0xfc,                                             // 008  mov r12,rdi
        0xbf, 0x02, 0x00, 0x00, 0x00,                                 // 00b  mov edi,0x2
        0x49, 0x8d, 0x74, 0x24, 0x28,                                 // 010  lea rsi,[r12+0x28]
        0x48, 0x89, 0xe2,                                             // 015  mov rdx,rsp
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,                           // 018  mov r10d,0x8
        0xb8, 0x0e, 0x00, 0x00, 0x00,                                 // 01e  mov eax,0xe
        0x0f, 0x05,                                                   // 023  syscall
        0xb8, 0x38, 0x00, 0x00, 0x00,                                 // 025  mov eax,0x38
        0xbf, 0x00, 0x41, 0x00, 0x00,                                 // 02a  mov edi,0x4100
        0x31, 0xf6,                                                   // 02f  xor esi,esi
        0x31, 0xd2,                                                   // 031  xor edx,edx
        0x45, 0x31, 0xd2,                                             // 033  xor r10d,r10d
        0x45, 0x31, 0xc0,                                             // 036  xor r8d,r8d
        0x0f, 0x05,                                                   // 039  syscall
        0x48, 0x85, 0xc0,                                             // 03b  test rax,rax
        0x74, 0x26,                                                   // 03e  je 66 <child>
        0x49, 0x89, 0xc5,                                             // 040  mov r13,rax
        0xbf, 0x02, 0x00, 0x00, 0x00,                                 // 043  mov edi,0x2
        0x48, 0x89, 0xe6,                                             // 048  mov rsi,rsp
        0x31, 0xd2,                                                   // 04b  xor edx,edx
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,                           // 04d  mov r10d,0x8
        0xb8, 0x0e, 0x00, 0x00, 0x00,                                 // 053  mov eax,0xe
        0x0f, 0x05,                                                   // 058  syscall
        0x4c, 0x89, 0xe8,                                             // 05a  mov rax,r13
        0x48, 0x83, 0xc4, 0x18,                                       // 05d  add rsp,0x18
        0x41, 0x5d,                                                   // 061  pop r13
        0x41, 0x5c,                                                   // 063  pop r12
        0xc3,                                                         // 065  ret
        // child:
        0xbf, 0x01, 0x00, 0x00, 0x00,                                 // 066  mov edi,0x1
        0xbe, 0x09, 0x00, 0x00, 0x00,                                 // 06b  mov esi,0x9
        0xb8, 0x9d, 0x00, 0x00, 0x00,                                 // 070  mov eax,0x9d
        0x0f, 0x05,                                                   // 075  syscall
        0x31, 0xff,                                                   // 077  xor edi,edi
        0x31, 0xf6,                                                   // 079  xor esi,esi
        0xb8, 0x6d, 0x00, 0x00, 0x00,                                 // 07b  mov eax,0x6d
        0x0f, 0x05,                                                   // 080  syscall
        0x31, 0xc0,                                                   // 082  xor eax,eax
        0x50,                                                         // 084  push rax
        0x50,                                                         // 085  push rax
        0x50,                                                         // 086  push rax
        0x6a, 0x01,                                                   // 087  push 0x1
        0x49, 0x89, 0xe5,                                             // 089  mov r13,rsp
        0x48, 0xbb, 0x01, 0x02, 0x03, 0x14, 0x15, 0x16, 0x00, 0x00,   // 08c  movabs rbx,0x161514030201
        // ignore:
        0x0f, 0xb6, 0xfb,                                             // 096  movzx edi,bl
        0x85, 0xff,                                                   // 099  test edi,edi
        0x74, 0x18,                                                   // 09b  je b5 <ignored>
        0x4c, 0x89, 0xee,                                             // 09d  mov rsi,r13
        0x31, 0xd2,                                                   // 0a0  xor edx,edx
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,                           // 0a2  mov r10d,0x8
        0xb8, 0x0d, 0x00, 0x00, 0x00,                                 // 0a8  mov eax,0xd
        0x0f, 0x05,                                                   // 0ad  syscall
        0x48, 0xc1, 0xeb, 0x08,                                       // 0af  shr rbx,0x8
        0xeb, 0xe1,                                                   // 0b3  jmp 96 <ignore>
        // ignored:
        0x41, 0x8b, 0x3c, 0x24,                                       // 0b5  mov edi,DWORD PTR [r12]
        0x31, 0xf6,                                                   // 0b9  xor esi,esi
        0xba, 0x00, 0x00, 0x08, 0x00,                                 // 0bb  mov edx,0x80000
        0xb8, 0x24, 0x01, 0x00, 0x00,                                 // 0c0  mov eax,0x124
        0x0f, 0x05,                                                   // 0c5  syscall
        0x41, 0x8b, 0x7c, 0x24, 0x08,                                 // 0c7  mov edi,DWORD PTR [r12+0x8]
        0xbe, 0x01, 0x00, 0x00, 0x00,                                 // 0cc  mov esi,0x1
        0x31, 0xd2,                                                   // 0d1  xor edx,edx
        0xb8, 0x24, 0x01, 0x00, 0x00,                                 // 0d3  mov eax,0x124
        0x0f, 0x05,                                                   // 0d8  syscall
        0xbf, 0x02, 0x00, 0x00, 0x00,                                 // 0da  mov edi,0x2
        0xbe, 0xff, 0xff, 0xff, 0xff,                                 // 0df  mov esi,0xffffffff
        0x31, 0xd2,                                                   // 0e4  xor edx,edx
        0xb8, 0xb4, 0x01, 0x00, 0x00,                                 // 0e6  mov eax,0x1b4
        0x0f, 0x05,                                                   // 0eb  syscall
        0x31, 0xff,                                                   // 0ed  xor edi,edi
        0x49, 0x8b, 0x74, 0x24, 0x10,                                 // 0ef  mov rsi,QWORD PTR [r12+0x10]
        0x49, 0x8b, 0x54, 0x24, 0x18,                                 // 0f4  mov rdx,QWORD PTR [r12+0x18]
        0x4d, 0x8b, 0x54, 0x24, 0x20,                                 // 0f9  mov r10,QWORD PTR [r12+0x20]
        0x41, 0xb8, 0x00, 0x10, 0x00, 0x00,                           // 0fe  mov r8d,0x1000
        0xb8, 0x42, 0x01, 0x00, 0x00,                                 // 104  mov eax,0x142
        0x0f, 0x05,                                                   // 109  syscall
        0xbf, 0x7f, 0x00, 0x00, 0x00,                                 // 10b  mov edi,0x7f
        0xb8, 0xe7, 0x00, 0x00, 0x00,                                 // 110  mov eax,0xe7
        0x0f, 0x05,                                                   // 115  syscall
    };

    private static delegate* unmanaged<Request*, long> _spawn;
    private static readonly object Lock = new();

    /// <summary>Clones and execs a stub as described by <paramref name="request"/>; returns its pid or -errno.</summary>
    public static long Spawn(Request* request)
    {
        request->AllSignals = ulong.MaxValue;
        return Trampoline()(request);
    }

    private static delegate* unmanaged<Request*, long> Trampoline()
    {
        lock (Lock)
        {
            if (_spawn != null) return _spawn;
            long page = RawSyscall.Checked(RawSyscall.SYS_mmap, 0, 4096, 3, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
            if (page < 0) throw new InvalidOperationException($"mmap for the stub launcher: errno {-page}");
            Code.CopyTo(new Span<byte>((void*)page, Code.Length));
            long r = RawSyscall.Checked(RawSyscall.SYS_mprotect, page, 4096, 5 /* PROT_READ|PROT_EXEC */);
            if (r < 0) throw new InvalidOperationException($"mprotect of the stub launcher: errno {-r}");
            _spawn = (delegate* unmanaged<Request*, long>)page;
            return _spawn;
        }
    }
}
