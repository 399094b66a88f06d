namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// The systrap stub: a one-page static ELF the Sentry writes itself and starts in every new
/// address space. Its code (hand-assembled below; the comment on each line is its disassembly)
/// has three parts:
/// <list type="bullet">
/// <item><b>setup</b> (entry, before any application code): unblock all signals; map the shared
/// page from fd 1 at <see cref="PageAddress"/> (thread slot 0) and close fd 1; map a private
/// alternate signal stack; install <see cref="HandlerAddress"/> for the signals in <see cref="HandledSignals"/>
/// (SA_SIGINFO | SA_ONSTACK | SA_RESTORER, every signal blocked while it runs); set no_new_privs;
/// install <see cref="StubSeccompFilter"/> with SECCOMP_FILTER_FLAG_NEW_LISTENER; then <c>int3</c>,
/// whose SIGTRAP is the stub's first report ("ready"), with the listener fd in rax for the
/// Sentry's <see cref="StubSyscallApprover"/>. A failing step exits with the negated errno as status.</item>
/// <item><b>handler</b> (every signal: SIGSYS from the seccomp trap, faults, the Sentry's kick),
/// running on the thread's alternate stack, finds its thread's shared page by rounding the stack
/// pointer down to <see cref="SlotSize"/>, stores signo, the ucontext address, the siginfo and the machine context in the shared page,
/// sets the state word to "reported" (xchg), wakes the Sentry if it sleeps, then waits for a
/// command: spins <c>SpinOffset</c> times with <c>pause</c>, then sets its sleeping flag (xchg),
/// rechecks and FUTEX_WAITs with a 5 s timeout (after a timeout it exits if its parent is no longer
/// the Sentry). Commands: <b>resume</b> (set FS/GS base if asked, copy the machine context back into
/// the ucontext, return into <c>rt_sigreturn</c>), <b>host call</b> (run the requested system call
/// from here, store the result, report again), <b>fork</b> (the child's page memfd, made by the
/// Sentry and handed over the fd channel, is in the first argument slot; clone with CLONE_PARENT | CLONE_PIDFD, the kernel
/// writing the child's pidfd into the second argument slot; the parent reports the child's pid
/// and keeps both fds until the Sentry has taken copies with pidfd_getfd and closed them (the
/// Sentry learns the child from the pidfd, never from the page, see <see cref="StubIds"/>); the child
/// maps the inherited memfd over the shared page, which it must not share with its parent, closes
/// it, copies its own context there and reports), <b>thread</b> (clone a host thread with
/// <see cref="ThreadCloneFlags"/> whose stack is the top of the new slot's page, which the Sentry
/// has mapped and filled; the parent reports the thread's id; the thread installs the slot's
/// alternate stack from the stack_t at <see cref="SharedPage.ThreadStackOffset"/>, unblocks every
/// signal and reports with <c>int3</c> from its own page).</item>
/// <item><b>restorer</b>: <c>mov eax, 15; syscall</c> (rt_sigreturn), the handler's return address.</item>
/// </list>
/// The file: ELF header and one PT_LOAD program header (read+execute, the whole file at
/// <see cref="Base"/>), the code at offset 0x100, data at 0x800 (sigaction, stack_t, a 5 s timespec,
/// an empty signal set, an empty memfd name, the sock_fprog, the signal list, the BPF program).
/// </summary>
internal static class SystrapStub
{
    /// <summary>Where the stub's code page is loaded.</summary>
    public const ulong Base = 0x7e10_0000_0000;

    /// <summary>
    /// Where the per-thread slots start. Slot <c>i</c> (one per host thread of the stub, at
    /// <see cref="ThreadAreaAddress"/> + i * <see cref="SlotSize"/>, aligned to the slot size) holds
    /// the thread's shared page at its start and its alternate signal stack in its upper half, so
    /// the handler finds its own page by rounding its stack pointer down to the slot size.
    /// </summary>
    public const ulong ThreadAreaAddress = Base + 0x20000;

    /// <summary>Size (and alignment) of one thread slot.</summary>
    public const ulong SlotSize = 0x20000;

    /// <summary>How many threads one stub process can hold.</summary>
    public const int MaxThreads = 1024;

    /// <summary>The shared page of the stub's first thread (slot 0).</summary>
    public const ulong PageAddress = ThreadAreaAddress;

    /// <summary>Offset of a slot's alternate signal stack in the slot.</summary>
    public const ulong AltStackOffset = 0x10000;

    /// <summary>The first thread's private alternate signal stack.</summary>
    public const ulong AltStackAddress = ThreadAreaAddress + AltStackOffset;

    /// <summary>Size of the alternate signal stack.</summary>
    public const ulong AltStackSize = 0x10000;

    /// <summary>End of everything the stub maps at fixed addresses (the application must keep out).</summary>
    public const ulong ReservedEnd = ThreadAreaAddress + MaxThreads * SlotSize;

    /// <summary>The shared page of thread slot <paramref name="slot"/>.</summary>
    public static ulong SlotPage(int slot) => ThreadAreaAddress + (ulong)slot * SlotSize;

    /// <summary>
    /// The host clone flags of a new stub thread: CLONE_VM | CLONE_FS | CLONE_FILES |
    /// CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID (the host kernel zeroes
    /// the slot's <see cref="SharedPage.ThreadAliveOffset"/> word when the thread is gone).
    /// </summary>
    public const ulong ThreadCloneFlags = 0x250f00;

    /// <summary>The empty memfd name in the stub's data (for memfd_create run as a host call).</summary>
    public const ulong EmptyNameAddress = Base + NameOffset;

    private const int CodeOffset = 0x100;
    private const int DataOffset = 0x800;
    /// <summary>How long a waiting stub sleeps before it checks that its parent is still the Sentry.</summary>
    internal const int StubWaitTimeoutSeconds = 5;

    private const int SigactionOffset = 0x800, StackOffset = 0x820, TimespecOffset = 0x838,
        EmptySetOffset = 0x848, NameOffset = 0x850, FprogOffset = 0x858, SignalListOffset = 0x868,
        FilterOffset = 0x8a0;
    /// <summary>Size of the stub's image, mapped at <see cref="Base"/> (code and data).</summary>
    public const int ImageSize = 0x1000;

    /// <summary>The ELF entry point (setup).</summary>
    public const ulong EntryAddress = Base + CodeOffset;

    /// <summary>Address just after the setup's final <c>int3</c> (the rip of the "ready" report).</summary>
    public const ulong ReadyAddress = Base + CodeOffset + 0x12e;

    /// <summary>The rt_sigreturn trampoline.</summary>
    public const ulong RestorerAddress = Base + CodeOffset + 0x13b;

    /// <summary>The signal handler.</summary>
    public const ulong HandlerAddress = Base + CodeOffset + 0x142;

    /// <summary>Address just after a new thread's <c>int3</c> (the rip of its "ready" report).</summary>
    public const ulong ThreadReadyAddress = Base + CodeOffset + 0x3b2;

    /// <summary>End of the code (exclusive); every stub system call comes from below it.</summary>
    public const ulong CodeEnd = Base + CodeOffset + 0x3c0;

    /// <summary>The signal the Sentry sends to make a running stub report (<see cref="StopReason.Interrupted"/>).</summary>
    public const int KickSignal = 16;   // SIGSTKFLT

    /// <summary>
    /// Signals the handler takes: every catchable one except SIGCHLD, SIGCONT, SIGURG and SIGWINCH
    /// (ignored by default). Host signals other than SIGSYS and the faults report as interruptions.
    /// </summary>
    public static readonly byte[] HandledSignals = { 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 24, 25, 26, 27, 29, 30, 31 };

    private const ulong SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTORER = 0x04000000;

    private static readonly byte[] Code =
    {
        // _start:
        0x49, 0x89, 0xe7,                                             // 000  mov r15, rsp
        0xbf, 0x02, 0x00, 0x00, 0x00,                                 // 003  mov edi, 0x2
        0x48, 0xbe, 0x48, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 008  movabs rsi, 0x7e1000000848
        0x31, 0xd2,                                                   // 012  xor edx, edx
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,                           // 014  mov r10d, 0x8
        0xb8, 0x0e, 0x00, 0x00, 0x00,                                 // 01a  mov eax, 0xe
        0x0f, 0x05,                                                   // 01f  syscall
        0x48, 0x85, 0xc0,                                             // 021  test rax, rax
        0x0f, 0x85, 0x06, 0x01, 0x00, 0x00,                           // 024  jne 130 (fail)
        0x48, 0xbf, 0x00, 0x00, 0x02, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 02a  movabs rdi, 0x7e1000020000
        0xbe, 0x00, 0x10, 0x00, 0x00,                                 // 034  mov esi, 0x1000
        0xba, 0x03, 0x00, 0x00, 0x00,                                 // 039  mov edx, 0x3
        0x41, 0xba, 0x11, 0x00, 0x00, 0x00,                           // 03e  mov r10d, 0x11
        0x41, 0xb8, 0x01, 0x00, 0x00, 0x00,                           // 044  mov r8d, 0x1
        0x45, 0x31, 0xc9,                                             // 04a  xor r9d, r9d
        0xb8, 0x09, 0x00, 0x00, 0x00,                                 // 04d  mov eax, 0x9
        0x0f, 0x05,                                                   // 052  syscall
        0x48, 0x39, 0xf8,                                             // 054  cmp rax, rdi
        0x0f, 0x85, 0xd3, 0x00, 0x00, 0x00,                           // 057  jne 130 (fail)
        0x48, 0x89, 0xc3,                                             // 05d  mov rbx, rax
        0x4c, 0x89, 0x7b, 0x70,                                       // 060  mov QWORD PTR [rbx+0x70], r15
        0xbf, 0x01, 0x00, 0x00, 0x00,                                 // 064  mov edi, 0x1
        0xb8, 0x03, 0x00, 0x00, 0x00,                                 // 069  mov eax, 0x3
        0x0f, 0x05,                                                   // 06e  syscall
        0x48, 0xbf, 0x00, 0x00, 0x03, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 070  movabs rdi, 0x7e1000030000
        0xbe, 0x00, 0x00, 0x01, 0x00,                                 // 07a  mov esi, 0x10000
        0xba, 0x03, 0x00, 0x00, 0x00,                                 // 07f  mov edx, 0x3
        0x41, 0xba, 0x32, 0x00, 0x00, 0x00,                           // 084  mov r10d, 0x32
        0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,                     // 08a  mov r8, 0xffffffffffffffff
        0x45, 0x31, 0xc9,                                             // 091  xor r9d, r9d
        0xb8, 0x09, 0x00, 0x00, 0x00,                                 // 094  mov eax, 0x9
        0x0f, 0x05,                                                   // 099  syscall
        0x48, 0x39, 0xf8,                                             // 09b  cmp rax, rdi
        0x0f, 0x85, 0x8c, 0x00, 0x00, 0x00,                           // 09e  jne 130 (fail)
        0x48, 0xbf, 0x20, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 0a4  movabs rdi, 0x7e1000000820
        0x31, 0xf6,                                                   // 0ae  xor esi, esi
        0xb8, 0x83, 0x00, 0x00, 0x00,                                 // 0b0  mov eax, 0x83
        0x0f, 0x05,                                                   // 0b5  syscall
        0x48, 0x85, 0xc0,                                             // 0b7  test rax, rax
        0x75, 0x74,                                                   // 0ba  jne 130 (fail)
        0x49, 0xbc, 0x68, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 0bc  movabs r12, 0x7e1000000868
        // siglist:
        0x41, 0x0f, 0xb6, 0x3c, 0x24,                                 // 0c6  movzx edi, BYTE PTR [r12]
        0x85, 0xff,                                                   // 0cb  test edi, edi
        0x74, 0x23,                                                   // 0cd  je f2 (sigdone)
        0x48, 0xbe, 0x00, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 0cf  movabs rsi, 0x7e1000000800
        0x31, 0xd2,                                                   // 0d9  xor edx, edx
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,                           // 0db  mov r10d, 0x8
        0xb8, 0x0d, 0x00, 0x00, 0x00,                                 // 0e1  mov eax, 0xd
        0x0f, 0x05,                                                   // 0e6  syscall
        0x48, 0x85, 0xc0,                                             // 0e8  test rax, rax
        0x75, 0x43,                                                   // 0eb  jne 130 (fail)
        0x49, 0xff, 0xc4,                                             // 0ed  inc r12
        0xeb, 0xd4,                                                   // 0f0  jmp c6 (siglist)
        // sigdone:
        0xbf, 0x26, 0x00, 0x00, 0x00,                                 // 0f2  mov edi, 0x26
        0xbe, 0x01, 0x00, 0x00, 0x00,                                 // 0f7  mov esi, 0x1
        0x31, 0xd2,                                                   // 0fc  xor edx, edx
        0x45, 0x31, 0xd2,                                             // 0fe  xor r10d, r10d
        0x45, 0x31, 0xc0,                                             // 101  xor r8d, r8d
        0xb8, 0x9d, 0x00, 0x00, 0x00,                                 // 104  mov eax, 0x9d
        0x0f, 0x05,                                                   // 109  syscall
        0x48, 0x85, 0xc0,                                             // 10b  test rax, rax
        0x75, 0x20,                                                   // 10e  jne 130 (fail)
        0x6a, 0x01,                                                   // 110  push 0x1
        0x5f,                                                         // 112  pop rdi
        0x6a, 0x08,                                                   // 113  push 0x8
        0x5e,                                                         // 115  pop rsi
        0x90,                                                         // 116  nop
        0x48, 0xba, 0x58, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 117  movabs rdx, 0x7e1000000858
        0xb8, 0x3d, 0x01, 0x00, 0x00,                                 // 121  mov eax, 0x13d
        0x0f, 0x05,                                                   // 126  syscall
        0x48, 0x85, 0xc0,                                             // 128  test rax, rax
        0x78, 0x03,                                                   // 12b  js 130 (fail)
        // ready:
        0xcc,                                                         // 12d  int3
        0xeb, 0xfd,                                                   // 12e  jmp 12d (ready)
        // fail:
        0x89, 0xc7,                                                   // 130  mov edi, eax
        0xf7, 0xdf,                                                   // 132  neg edi
        0xb8, 0xe7, 0x00, 0x00, 0x00,                                 // 134  mov eax, 0xe7
        0x0f, 0x05,                                                   // 139  syscall
        // restorer:
        0xb8, 0x0f, 0x00, 0x00, 0x00,                                 // 13b  mov eax, 0xf
        0x0f, 0x05,                                                   // 140  syscall
        // handler:
        0x48, 0x89, 0xe3,                                             // 142  mov rbx, rsp
        0x48, 0x81, 0xe3, 0x00, 0x00, 0xfe, 0xff,                     // 145  and rbx, 0xfffffffffffe0000
        0x89, 0x7b, 0x0c,                                             // 14c  mov DWORD PTR [rbx+0xc], edi
        0x48, 0x89, 0x53, 0x68,                                       // 14f  mov QWORD PTR [rbx+0x68], rdx
        0x49, 0x89, 0xd4,                                             // 153  mov r12, rdx
        0x48, 0x8d, 0xbb, 0x80, 0x00, 0x00, 0x00,                     // 156  lea rdi, [rbx+0x80]
        0xb9, 0x10, 0x00, 0x00, 0x00,                                 // 15d  mov ecx, 0x10
        0xf3, 0x48, 0xa5,                                             // 162  rep movs QWORD PTR es:[rdi], QWORD PTR ds:[rsi]
        0x49, 0x8d, 0x74, 0x24, 0x28,                                 // 165  lea rsi, [r12+0x28]
        0x48, 0x8d, 0xbb, 0x00, 0x01, 0x00, 0x00,                     // 16a  lea rdi, [rbx+0x100]
        0xb9, 0x18, 0x00, 0x00, 0x00,                                 // 171  mov ecx, 0x18
        0xf3, 0x48, 0xa5,                                             // 176  rep movs QWORD PTR es:[rdi], QWORD PTR ds:[rsi]
        // report:
        0xb8, 0x01, 0x00, 0x00, 0x00,                                 // 179  mov eax, 0x1
        0x87, 0x03,                                                   // 17e  xchg DWORD PTR [rbx], eax
        0x83, 0x7b, 0x08, 0x00,                                       // 180  cmp DWORD PTR [rbx+0x8], 0x0
        0x74, 0x14,                                                   // 184  je 19a (wait)
        0x48, 0x89, 0xdf,                                             // 186  mov rdi, rbx
        0xbe, 0x01, 0x00, 0x00, 0x00,                                 // 189  mov esi, 0x1
        0xba, 0x01, 0x00, 0x00, 0x00,                                 // 18e  mov edx, 0x1
        0xb8, 0xca, 0x00, 0x00, 0x00,                                 // 193  mov eax, 0xca
        0x0f, 0x05,                                                   // 198  syscall
        // wait:
        0x8b, 0x4b, 0x64,                                             // 19a  mov ecx, DWORD PTR [rbx+0x64]
        // spin:
        0x8b, 0x03,                                                   // 19d  mov eax, DWORD PTR [rbx]
        0x83, 0xf8, 0x01,                                             // 19f  cmp eax, 0x1
        0x75, 0x59,                                                   // 1a2  jne 1fd (dispatch)
        0x85, 0xc9,                                                   // 1a4  test ecx, ecx
        0x74, 0x06,                                                   // 1a6  je 1ae (sleep)
        0xff, 0xc9,                                                   // 1a8  dec ecx
        0xf3, 0x90,                                                   // 1aa  pause
        0xeb, 0xef,                                                   // 1ac  jmp 19d (spin)
        // sleep:
        0xb8, 0x01, 0x00, 0x00, 0x00,                                 // 1ae  mov eax, 0x1
        0x87, 0x43, 0x04,                                             // 1b3  xchg DWORD PTR [rbx+0x4], eax
        0x83, 0x3b, 0x01,                                             // 1b6  cmp DWORD PTR [rbx], 0x1
        0x75, 0x2d,                                                   // 1b9  jne 1e8 (woke)
        0x48, 0x89, 0xdf,                                             // 1bb  mov rdi, rbx
        0x31, 0xf6,                                                   // 1be  xor esi, esi
        0xba, 0x01, 0x00, 0x00, 0x00,                                 // 1c0  mov edx, 0x1
        0x49, 0xba, 0x38, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 1c5  movabs r10, 0x7e1000000838
        0xb8, 0xca, 0x00, 0x00, 0x00,                                 // 1cf  mov eax, 0xca
        0x0f, 0x05,                                                   // 1d4  syscall
        0x48, 0x83, 0xf8, 0x92,                                       // 1d6  cmp rax, 0xffffffffffffff92
        0x75, 0x0c,                                                   // 1da  jne 1e8 (woke)
        0xb8, 0x6e, 0x00, 0x00, 0x00,                                 // 1dc  mov eax, 0x6e
        0x0f, 0x05,                                                   // 1e1  syscall
        0x3b, 0x43, 0x78,                                             // 1e3  cmp eax, DWORD PTR [rbx+0x78]
        0x75, 0x09,                                                   // 1e6  jne 1f1 (die)
        // woke:
        0xc7, 0x43, 0x04, 0x00, 0x00, 0x00, 0x00,                     // 1e8  mov DWORD PTR [rbx+0x4], 0x0
        0xeb, 0xa9,                                                   // 1ef  jmp 19a (wait)
        // die:
        0xbf, 0x01, 0x00, 0x00, 0x00,                                 // 1f1  mov edi, 0x1
        0xb8, 0xe7, 0x00, 0x00, 0x00,                                 // 1f6  mov eax, 0xe7
        0x0f, 0x05,                                                   // 1fb  syscall
        // dispatch:
        0x83, 0xf8, 0x02,                                             // 1fd  cmp eax, 0x2
        0x74, 0x40,                                                   // 200  je 242 (resume)
        0x83, 0xf8, 0x03,                                             // 202  cmp eax, 0x3
        0x74, 0x14,                                                   // 205  je 21b (hostcall)
        0x83, 0xf8, 0x04,                                             // 207  cmp eax, 0x4
        0x0f, 0x84, 0x89, 0x00, 0x00, 0x00,                           // 20a  je 299 (fork)
        0x83, 0xf8, 0x05,                                             // 210  cmp eax, 0x5
        0x0f, 0x84, 0x34, 0x01, 0x00, 0x00,                           // 213  je 34d (thread)
        0xeb, 0xd6,                                                   // 219  jmp 1f1 (die)
        // hostcall:
        0x48, 0x8b, 0x43, 0x10,                                       // 21b  mov rax, QWORD PTR [rbx+0x10]
        0x48, 0x8b, 0x7b, 0x18,                                       // 21f  mov rdi, QWORD PTR [rbx+0x18]
        0x48, 0x8b, 0x73, 0x20,                                       // 223  mov rsi, QWORD PTR [rbx+0x20]
        0x48, 0x8b, 0x53, 0x28,                                       // 227  mov rdx, QWORD PTR [rbx+0x28]
        0x4c, 0x8b, 0x53, 0x30,                                       // 22b  mov r10, QWORD PTR [rbx+0x30]
        0x4c, 0x8b, 0x43, 0x38,                                       // 22f  mov r8, QWORD PTR [rbx+0x38]
        0x4c, 0x8b, 0x4b, 0x40,                                       // 233  mov r9, QWORD PTR [rbx+0x40]
        0x0f, 0x05,                                                   // 237  syscall
        // hostdone:
        0x48, 0x89, 0x43, 0x48,                                       // 239  mov QWORD PTR [rbx+0x48], rax
        0xe9, 0x37, 0xff, 0xff, 0xff,                                 // 23d  jmp 179 (report)
        // resume:
        0x44, 0x8b, 0x6b, 0x60,                                       // 242  mov r13d, DWORD PTR [rbx+0x60]
        0x45, 0x85, 0xed,                                             // 246  test r13d, r13d
        0x74, 0x39,                                                   // 249  je 284 (resume_ctx)
        0xc7, 0x43, 0x60, 0x00, 0x00, 0x00, 0x00,                     // 24b  mov DWORD PTR [rbx+0x60], 0x0
        0x41, 0xf7, 0xc5, 0x01, 0x00, 0x00, 0x00,                     // 252  test r13d, 0x1
        0x74, 0x10,                                                   // 259  je 26b (resume_gs)
        0xbf, 0x02, 0x10, 0x00, 0x00,                                 // 25b  mov edi, 0x1002
        0x48, 0x8b, 0x73, 0x50,                                       // 260  mov rsi, QWORD PTR [rbx+0x50]
        0xb8, 0x9e, 0x00, 0x00, 0x00,                                 // 264  mov eax, 0x9e
        0x0f, 0x05,                                                   // 269  syscall
        // resume_gs:
        0x41, 0xf7, 0xc5, 0x02, 0x00, 0x00, 0x00,                     // 26b  test r13d, 0x2
        0x74, 0x10,                                                   // 272  je 284 (resume_ctx)
        0xbf, 0x01, 0x10, 0x00, 0x00,                                 // 274  mov edi, 0x1001
        0x48, 0x8b, 0x73, 0x58,                                       // 279  mov rsi, QWORD PTR [rbx+0x58]
        0xb8, 0x9e, 0x00, 0x00, 0x00,                                 // 27d  mov eax, 0x9e
        0x0f, 0x05,                                                   // 282  syscall
        // resume_ctx:
        0x48, 0x8d, 0xb3, 0x00, 0x01, 0x00, 0x00,                     // 284  lea rsi, [rbx+0x100]
        0x49, 0x8d, 0x7c, 0x24, 0x28,                                 // 28b  lea rdi, [r12+0x28]
        0xb9, 0x17, 0x00, 0x00, 0x00,                                 // 290  mov ecx, 0x17
        0xf3, 0x48, 0xa5,                                             // 295  rep movs QWORD PTR es:[rdi], QWORD PTR ds:[rsi]
        0xc3,                                                         // 298  ret
        // fork:
        0x48, 0x8b, 0x43, 0x18,                                       // 299  mov rax, QWORD PTR [rbx+0x18]
        0xeb, 0x12,                                                   // 29d  jmp 2b1
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,         // 29f  int3 (padding)
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,         // 2a8  int3 (padding)
        0x49, 0x89, 0xc5,                                             // 2b1  mov r13, rax
        0x48, 0x89, 0x43, 0x18,                                       // 2b4  mov QWORD PTR [rbx+0x18], rax
        0x48, 0x89, 0xc7,                                             // 2b8  mov rdi, rax
        0xbe, 0x00, 0x10, 0x00, 0x00,                                 // 2bb  mov esi, 0x1000
        0xb8, 0x4d, 0x00, 0x00, 0x00,                                 // 2c0  mov eax, 0x4d
        0x0f, 0x05,                                                   // 2c5  syscall
        0xb8, 0x38, 0x00, 0x00, 0x00,                                 // 2c7  mov eax, 0x38
        0xbf, 0x00, 0x90, 0x00, 0x00,                                 // 2cc  mov edi, 0x9000
        0x31, 0xf6,                                                   // 2d1  xor esi, esi
        0x48, 0x8d, 0x53, 0x20,                                       // 2d3  lea rdx, [rbx+0x20]
        0x45, 0x31, 0xd2,                                             // 2d7  xor r10d, r10d
        0x90,                                                         // 2da  nop
        0x0f, 0x05,                                                   // 2db  syscall
        0x48, 0x85, 0xc0,                                             // 2dd  test rax, rax
        0x0f, 0x85, 0x53, 0xff, 0xff, 0xff,                           // 2e0  jne 239 (hostdone)
        0x44, 0x8b, 0x73, 0x78,                                       // 2e6  mov r14d, DWORD PTR [rbx+0x78]
        0x44, 0x8b, 0x7b, 0x64,                                       // 2ea  mov r15d, DWORD PTR [rbx+0x64]
        0x48, 0x89, 0xdf,                                             // 2ee  mov rdi, rbx
        0xbe, 0x00, 0x10, 0x00, 0x00,                                 // 2f1  mov esi, 0x1000
        0xba, 0x03, 0x00, 0x00, 0x00,                                 // 2f6  mov edx, 0x3
        0x41, 0xba, 0x11, 0x00, 0x00, 0x00,                           // 2fb  mov r10d, 0x11
        0x4d, 0x89, 0xe8,                                             // 301  mov r8, r13
        0x45, 0x31, 0xc9,                                             // 304  xor r9d, r9d
        0xb8, 0x09, 0x00, 0x00, 0x00,                                 // 307  mov eax, 0x9
        0x0f, 0x05,                                                   // 30c  syscall
        0x48, 0x39, 0xd8,                                             // 30e  cmp rax, rbx
        0x0f, 0x85, 0xda, 0xfe, 0xff, 0xff,                           // 311  jne 1f1 (die)
        0x4c, 0x89, 0xef,                                             // 317  mov rdi, r13
        0xb8, 0x03, 0x00, 0x00, 0x00,                                 // 31a  mov eax, 0x3
        0x0f, 0x05,                                                   // 31f  syscall
        0x44, 0x89, 0x73, 0x78,                                       // 321  mov DWORD PTR [rbx+0x78], r14d
        0x44, 0x89, 0x7b, 0x64,                                       // 325  mov DWORD PTR [rbx+0x64], r15d
        0x4c, 0x89, 0x63, 0x68,                                       // 329  mov QWORD PTR [rbx+0x68], r12
        0xc7, 0x43, 0x0c, 0x00, 0x00, 0x00, 0x00,                     // 32d  mov DWORD PTR [rbx+0xc], 0x0
        0x49, 0x8d, 0x74, 0x24, 0x28,                                 // 334  lea rsi, [r12+0x28]
        0x48, 0x8d, 0xbb, 0x00, 0x01, 0x00, 0x00,                     // 339  lea rdi, [rbx+0x100]
        0xb9, 0x18, 0x00, 0x00, 0x00,                                 // 340  mov ecx, 0x18
        0xf3, 0x48, 0xa5,                                             // 345  rep movs QWORD PTR es:[rdi], QWORD PTR ds:[rsi]
        0xe9, 0x2c, 0xfe, 0xff, 0xff,                                 // 348  jmp 179 (report)
        // thread:
        0xb8, 0x38, 0x00, 0x00, 0x00,                                 // 34d  mov eax, 0x38
        0xbf, 0x00, 0x0f, 0x25, 0x00,                                 // 352  mov edi, 0x250f00
        0x48, 0x8b, 0x73, 0x18,                                       // 357  mov rsi, QWORD PTR [rbx+0x18]
        0x31, 0xd2,                                                   // 35b  xor edx, edx
        0x4c, 0x8b, 0x53, 0x20,                                       // 35d  mov r10, QWORD PTR [rbx+0x20]
        0x45, 0x31, 0xc0,                                             // 361  xor r8d, r8d
        0x0f, 0x05,                                                   // 364  syscall
        0x48, 0x85, 0xc0,                                             // 366  test rax, rax
        0x0f, 0x85, 0xca, 0xfe, 0xff, 0xff,                           // 369  jne 239 (hostdone)
        0x48, 0x89, 0xe3,                                             // 36f  mov rbx, rsp
        0x48, 0x81, 0xe3, 0x00, 0x00, 0xfe, 0xff,                     // 372  and rbx, 0xfffffffffffe0000
        0x48, 0x8d, 0xbb, 0x00, 0x02, 0x00, 0x00,                     // 379  lea rdi, [rbx+0x200]
        0x31, 0xf6,                                                   // 380  xor esi, esi
        0xb8, 0x83, 0x00, 0x00, 0x00,                                 // 382  mov eax, 0x83
        0x0f, 0x05,                                                   // 387  syscall
        0x48, 0x85, 0xc0,                                             // 389  test rax, rax
        0x75, 0x26,                                                   // 38c  jne 3b4 (thread_fail)
        0xbf, 0x02, 0x00, 0x00, 0x00,                                 // 38e  mov edi, 0x2
        0x48, 0xbe, 0x48, 0x08, 0x00, 0x00, 0x10, 0x7e, 0x00, 0x00,   // 393  movabs rsi, 0x7e1000000848
        0x31, 0xd2,                                                   // 39d  xor edx, edx
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,                           // 39f  mov r10d, 0x8
        0xb8, 0x0e, 0x00, 0x00, 0x00,                                 // 3a5  mov eax, 0xe
        0x0f, 0x05,                                                   // 3aa  syscall
        0x48, 0x85, 0xc0,                                             // 3ac  test rax, rax
        0x75, 0x03,                                                   // 3af  jne 3b4 (thread_fail)
        // thread_ready:
        0xcc,                                                         // 3b1  int3
        0xeb, 0xfd,                                                   // 3b2  jmp 3b1 (thread_ready)
        // thread_fail:
        0xbf, 0x01, 0x00, 0x00, 0x00,                                 // 3b4  mov edi, 0x1
        0xb8, 0x3c, 0x00, 0x00, 0x00,                                 // 3b9  mov eax, 0x3c
        0x0f, 0x05,                                                   // 3be  syscall
    };

    /// <summary>Builds the ELF file image (one page).</summary>
    public static byte[] Build()
    {
        if (CodeOffset + Code.Length > DataOffset || Base + CodeOffset + (ulong)Code.Length != CodeEnd)
            throw new InvalidOperationException("systrap stub code does not fit its layout");
        var image = new byte[ImageSize];
        var s = image.AsSpan();
        StubElf.WriteHeaders(s, Base, EntryAddress, ImageSize);
        Code.CopyTo(s[CodeOffset..]);

        // struct sigaction (kernel layout): handler, flags, restorer, mask (all blocked while it runs).
        W64(s, SigactionOffset, HandlerAddress);
        W64(s, SigactionOffset + 8, SA_SIGINFO | SA_ONSTACK | SA_RESTORER);
        W64(s, SigactionOffset + 16, RestorerAddress);
        W64(s, SigactionOffset + 24, ulong.MaxValue);
        // stack_t: ss_sp, ss_flags (+pad), ss_size.
        W64(s, StackOffset, AltStackAddress);
        W64(s, StackOffset + 16, AltStackSize);
        // The futex timeout: 5 s. It bounds two things: how long a stub outlives a Sentry that
        // died (a safety net: boot is pid 1 of the stubs' PID namespace, so the kernel kills them
        // with it), and how long a thread stays asleep after its own application cleared its
        // sleeping flag in the page (the Sentry then sends no wake-up). Each wake-up costs ~100 us
        // of CPU on this VM: at 1 s that was 0.9 ms per 10 s of an idle sandbox, at 5 s 0.2 ms.
        W64(s, TimespecOffset, StubWaitTimeoutSeconds);
        // EmptySetOffset and NameOffset stay zero.
        byte[] filter = StubSeccompFilter.Build(Base, CodeEnd);
        if (FilterOffset + filter.Length > ImageSize) throw new InvalidOperationException("seccomp program too long");
        filter.CopyTo(s[FilterOffset..]);
        // struct sock_fprog: len (u16, padded), filter pointer.
        W16(s, FprogOffset, (ushort)(filter.Length / 8));
        W64(s, FprogOffset + 8, Base + FilterOffset);
        if (HandledSignals.Length + 1 > FilterOffset - SignalListOffset) throw new InvalidOperationException("signal list too long");
        HandledSignals.CopyTo(s[SignalListOffset..]);
        return image;
    }

    private static void W16(Span<byte> s, int o, ushort v) => BitConverter.TryWriteBytes(s[o..], v);
    private static void W64(Span<byte> s, int o, ulong v) => BitConverter.TryWriteBytes(s[o..], v);
}
