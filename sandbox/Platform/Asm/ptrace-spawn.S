# PtracePlatform.SpawnCode: spawn(memfd, path, argv, envp) called from the Sentry. clone(0); the
# parent returns the child's pid; the child unblocks every signal, PTRACE_TRACEME, closes every fd
# but the memfd, and execveat(memfd, "", argv, envp, AT_EMPTY_PATH), else exit_group(127).
# Regenerate the C# bytes: scripts/gen-stub-code.sh.
.intel_syntax noprefix
.text
spawn:
    push rbx
    push r12
    push r13
    push r14
    mov ebx, edi            # memfd
    mov r12, rsi            # path
    mov r13, rdx            # argv
    mov r14, rcx            # envp
    mov eax, 0x38           # clone(0, 0, 0, 0, 0)
    xor edi, edi
    xor esi, esi
    xor edx, edx
    xor r10d, r10d
    xor r8d, r8d
    syscall
    test rax, rax
    je child
    pop r14
    pop r13
    pop r12
    pop rbx
    ret
child:
    xor eax, eax
    push rax                # an empty signal set
    mov eax, 0xe            # rt_sigprocmask(SIG_SETMASK, &empty, NULL, 8)
    mov edi, 0x2
    mov rsi, rsp
    xor edx, edx
    mov r10d, 0x8
    syscall
    mov eax, 0x65           # ptrace(PTRACE_TRACEME)
    xor edi, edi
    xor esi, esi
    xor edx, edx
    xor r10d, r10d
    syscall
    test ebx, ebx
    je above
    mov eax, 0x1b4          # close_range(0, memfd - 1, 0)
    xor edi, edi
    lea esi, [rbx-0x1]
    xor edx, edx
    syscall
above:
    mov eax, 0x1b4          # close_range(memfd + 1, ~0, 0)
    lea edi, [rbx+0x1]
    mov esi, 0xffffffff
    xor edx, edx
    syscall
    mov eax, 0x142          # execveat(memfd, path, argv, envp, AT_EMPTY_PATH)
    mov edi, ebx
    mov rsi, r12
    mov rdx, r13
    mov r10, r14
    mov r8d, 0x1000
    syscall
    mov eax, 0xe7           # exit_group(127)
    mov edi, 0x7f
    syscall
    hlt
