# The systrap stub's code page (SystrapStub.Code): setup (seccomp listener, shared page, stack,
# signal handlers, the sealed code page), the SIGSYS/fault handler that reports to the Sentry
# through the shared page, the wait loop (adaptive spin, then futex), and the dispatch of the
# Sentry's commands (resume, host call, fork, thread). Addresses of the shared page and stack are
# the fixed ones of SystrapStub.cs. Regenerate the C# bytes: scripts/gen-stub-code.sh.
.intel_syntax noprefix
.text
_start:
    mov r15, rsp
    mov edi, 0x2
    movabs rsi, 0x7e1000000848
    xor edx, edx
    mov r10d, 0x8
    mov eax, 0xe
    syscall
    test rax, rax
    jne fail
    movabs rdi, 0x7e1000020000
    mov esi, 0x1000
    mov edx, 0x3
    mov r10d, 0x11
    mov r8d, 0x1
    xor r9d, r9d
    mov eax, 0x9
    syscall
    cmp rax, rdi
    jne fail
    mov rbx, rax
    mov QWORD PTR [rbx+0x70], r15
    mov edi, 0x1
    mov eax, 0x3
    syscall
    movabs rdi, 0x7e1000030000
    mov esi, 0x10000
    mov edx, 0x3
    mov r10d, 0x32
    mov r8, 0xffffffffffffffff
    xor r9d, r9d
    mov eax, 0x9
    syscall
    cmp rax, rdi
    jne fail
    movabs rdi, 0x7e1000000820
    xor esi, esi
    mov eax, 0x83
    syscall
    test rax, rax
    jne fail
    movabs r12, 0x7e1000000868
siglist:
    movzx edi, BYTE PTR [r12]
    test edi, edi
    je sigdone
    movabs rsi, 0x7e1000000800
    xor edx, edx
    mov r10d, 0x8
    mov eax, 0xd
    syscall
    test rax, rax
    jne fail
    inc r12
    jmp siglist
sigdone:
    mov edi, 0x26
    mov esi, 0x1
    xor edx, edx
    xor r10d, r10d
    xor r8d, r8d
    mov eax, 0x9d
    syscall
    test rax, rax
    jne fail
    push 0x1
    pop rdi
    push 0x8
    pop rsi
    nop
    movabs rdx, 0x7e1000000858
    mov eax, 0x13d
    syscall
    test rax, rax
    js fail
ready:
    int3
    jmp ready
fail:
    mov edi, eax
    neg edi
    mov eax, 0xe7
    syscall
restorer:
    mov eax, 0xf
    syscall
handler:
    mov rbx, rsp
    and rbx, 0xfffffffffffe0000
    mov DWORD PTR [rbx+0xc], edi
    mov QWORD PTR [rbx+0x68], rdx
    mov r12, rdx
    lea rdi, [rbx+0x80]
    mov ecx, 0x10
    rep movsq
    lea rsi, [r12+0x28]
    lea rdi, [rbx+0x100]
    mov ecx, 0x18
    rep movsq
report:
    mov eax, 0x1
    xchg DWORD PTR [rbx], eax
    cmp DWORD PTR [rbx+0x8], 0x0
    je wait
    mov rdi, rbx
    mov esi, 0x1
    mov edx, 0x1
    mov eax, 0xca
    syscall
wait:
    mov ecx, DWORD PTR [rbx+0x64]
spin:
    mov eax, DWORD PTR [rbx]
    cmp eax, 0x1
    jne dispatch
    test ecx, ecx
    je sleep
    dec ecx
    pause
    jmp spin
sleep:
    mov eax, 0x1
    xchg DWORD PTR [rbx+0x4], eax
    cmp DWORD PTR [rbx], 0x1
    jne woke
    mov rdi, rbx
    xor esi, esi
    mov edx, 0x1
    movabs r10, 0x7e1000000838
    mov eax, 0xca
    syscall
    cmp rax, 0xffffffffffffff92
    jne woke
    mov eax, 0x6e
    syscall
    cmp eax, DWORD PTR [rbx+0x78]
    jne die
woke:
    mov DWORD PTR [rbx+0x4], 0x0
    jmp wait
die:
    mov edi, 0x1
    mov eax, 0xe7
    syscall
dispatch:
    cmp eax, 0x2
    je resume
    cmp eax, 0x3
    je hostcall
    cmp eax, 0x4
    je fork
    cmp eax, 0x5
    je thread
    jmp die
hostcall:
    mov rax, QWORD PTR [rbx+0x10]
    mov rdi, QWORD PTR [rbx+0x18]
    mov rsi, QWORD PTR [rbx+0x20]
    mov rdx, QWORD PTR [rbx+0x28]
    mov r10, QWORD PTR [rbx+0x30]
    mov r8, QWORD PTR [rbx+0x38]
    mov r9, QWORD PTR [rbx+0x40]
    syscall
hostdone:
    mov QWORD PTR [rbx+0x48], rax
    jmp report
resume:
    mov r13d, DWORD PTR [rbx+0x60]
    test r13d, r13d
    je resume_ctx
    mov DWORD PTR [rbx+0x60], 0x0
    test r13d, 0x1
    je resume_gs
    mov edi, 0x1002
    mov rsi, QWORD PTR [rbx+0x50]
    mov eax, 0x9e
    syscall
resume_gs:
    test r13d, 0x2
    je resume_ctx
    mov edi, 0x1001
    mov rsi, QWORD PTR [rbx+0x58]
    mov eax, 0x9e
    syscall
resume_ctx:
    lea rsi, [rbx+0x100]
    lea rdi, [r12+0x28]
    mov ecx, 0x17
    rep movsq
    ret
fork:
    mov rax, QWORD PTR [rbx+0x18]
    jmp L2b1
    .fill 9, 1, 0xcc
    .fill 9, 1, 0xcc
L2b1:
    mov r13, rax
    mov QWORD PTR [rbx+0x18], rax
    mov rdi, rax
    mov esi, 0x1000
    mov eax, 0x4d
    syscall
    mov eax, 0x38
    mov edi, 0x9000
    xor esi, esi
    lea rdx, [rbx+0x20]
    xor r10d, r10d
    nop
    syscall
    test rax, rax
    jne hostdone
    mov r14d, DWORD PTR [rbx+0x78]
    mov r15d, DWORD PTR [rbx+0x64]
    mov rdi, rbx
    mov esi, 0x1000
    mov edx, 0x3
    mov r10d, 0x11
    mov r8, r13
    xor r9d, r9d
    mov eax, 0x9
    syscall
    cmp rax, rbx
    jne die
    mov rdi, r13
    mov eax, 0x3
    syscall
    mov DWORD PTR [rbx+0x78], r14d
    mov DWORD PTR [rbx+0x64], r15d
    mov QWORD PTR [rbx+0x68], r12
    mov DWORD PTR [rbx+0xc], 0x0
    lea rsi, [r12+0x28]
    lea rdi, [rbx+0x100]
    mov ecx, 0x18
    rep movsq
    jmp report
thread:
    mov eax, 0x38
    mov edi, 0x250f00
    mov rsi, QWORD PTR [rbx+0x18]
    xor edx, edx
    mov r10, QWORD PTR [rbx+0x20]
    xor r8d, r8d
    syscall
    test rax, rax
    jne hostdone
    mov rbx, rsp
    and rbx, 0xfffffffffffe0000
    lea rdi, [rbx+0x200]
    xor esi, esi
    mov eax, 0x83
    syscall
    test rax, rax
    jne thread_fail
    mov edi, 0x2
    movabs rsi, 0x7e1000000848
    xor edx, edx
    mov r10d, 0x8
    mov eax, 0xe
    syscall
    test rax, rax
    jne thread_fail
thread_ready:
    int3
    jmp thread_ready
thread_fail:
    mov edi, 0x1
    mov eax, 0x3c
    syscall
