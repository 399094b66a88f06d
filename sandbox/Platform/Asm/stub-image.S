# StubImage.Code: the ptrace platform's stub executable (after the ELF headers, at CodeOffset).
# Regenerate the C# bytes: scripts/gen-stub-code.sh.
.intel_syntax noprefix
.text
syscall_entry:
    syscall                 # +0: the Sentry sets the registers, runs one host call
    int3                    # +2: and stops here
fork_entry:
    syscall                 # +3: clone
    test rax, rax
    jnz syscall_entry + 2   # parent: back to the int3
    mov eax, 39             # child: getpid
    syscall
    mov edi, eax
    mov esi, 19             # SIGSTOP
    mov eax, 62             # kill
    syscall
entry:
    int3                    # +31: the ELF entry point
    jmp entry + 1
