# StubLauncher.Code: spawn(args) in the Sentry's own process: block all signals, clone(0), and in
# the child set the parent-death signal, dup the channel fds into place, close the rest, restore
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
    mov eax, 0x38
    xor edi, edi
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
