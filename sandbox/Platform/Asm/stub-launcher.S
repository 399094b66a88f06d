# StubLauncher.Code: spawn(args) in the Sentry's own process: block all signals, clone(CLONE_VM |
# CLONE_VFORK), and in
# the child set the parent-death signal, leave boot's process group and drop terminal signals already pending, dup the channel fds into place, close the rest, restore
# the signal mask and execveat the stub image. Regenerate the C# bytes: scripts/gen-stub-code.sh.
.intel_syntax noprefix
.text
spawn:
    push r12
    push r13
    sub rsp, 0x18
    mov r12, rdi
    mov edi, 0x2
    lea rsi, [r12+0x28]
    mov rdx, rsp
    mov r10d, 0x8
    mov eax, 0xe
    syscall
    # clone(CLONE_VM | CLONE_VFORK, no new stack): the child borrows this address space and stack
    # until its execveat, as vfork does, instead of copying the page tables of the whole Sentry
    # (a fork of a .NET process cost ~3 ms per exec). It only pushes below this frame, reads the
    # request block and makes system calls; this thread is suspended until the exec or the exit.
    mov eax, 0x38
    mov edi, 0x4100
    xor esi, esi
    xor edx, edx
    xor r10d, r10d
    xor r8d, r8d
    syscall
    test rax, rax
    je child
    mov r13, rax
    mov edi, 0x2
    mov rsi, rsp
    xor edx, edx
    mov r10d, 0x8
    mov eax, 0xe
    syscall
    mov rax, r13
    add rsp, 0x18
    pop r13
    pop r12
    ret
child:
    mov edi, 0x1
    mov esi, 0x9
    mov eax, 0x9d
    syscall
    # ^C, ^\, ^Z and a hang-up on the console go to boot's host process group, the terminal's
    # foreground group: the stub leads a group of its own (setpgid(0, 0)), so no terminal signal
    # reaches it, neither during its set-up nor after (the Sentry delivers them to the application).
    xor edi, edi
    xor esi, esi
    mov eax, 0x6d
    syscall
    # One sent to boot's group while clone ran is already pending here (a fork takes the group's
    # signals along): setting SIG_IGN discards it; the stub installs its own handlers later.
    xor eax, eax
    push rax
    push rax
    push rax
    push 0x1
    mov r13, rsp
    # SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, one per byte, lowest first.
    movabs rbx, 0x161514030201
ignore:
    movzx edi, bl
    test edi, edi
    je ignored
    mov rsi, r13
    xor edx, edx
    mov r10d, 0x8
    mov eax, 0xd
    syscall
    shr rbx, 0x8
    jmp ignore
ignored:
    mov edi, DWORD PTR [r12]
    xor esi, esi
    mov edx, 0x80000
    mov eax, 0x124
    syscall
    mov edi, DWORD PTR [r12+0x8]
    mov esi, 0x1
    xor edx, edx
    mov eax, 0x124
    syscall
    mov edi, 0x2
    mov esi, 0xffffffff
    xor edx, edx
    mov eax, 0x1b4
    syscall
    xor edi, edi
    mov rsi, QWORD PTR [r12+0x10]
    mov rdx, QWORD PTR [r12+0x18]
    mov r10, QWORD PTR [r12+0x20]
    mov r8d, 0x1000
    mov eax, 0x142
    syscall
    mov edi, 0x7f
    mov eax, 0xe7
    syscall
