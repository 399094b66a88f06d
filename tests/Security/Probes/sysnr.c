/*
 * Out-of-range system call numbers answer ENOSYS (and a number's high 32 bits are ignored, as
 * Linux's entry code takes the low 32 bits sign-extended). Found by the fuzzer: syscall(-1) and
 * x32 numbers killed the calling process (the Sentry's own seccomp filter, inherited by the
 * stubs, said KILL_PROCESS, which beats the stub's TRAP).
 * Prints one line per number: the result, or "getpid" when it was getpid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long raw(long n)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
    return r;
}

int main(void)
{
    static const long numbers[] = {
        -1, -100, (long)0x80000000, 0x7fffffff, 0x40000000 | 1000, 0x40000000 | 600,
        1000, 0x7fffffffffffffffL, (long)0x80000000000003e8UL, 0x100000000L | 39 /* getpid */,
    };
    long pid = getpid();
    for (unsigned i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        long r = raw(numbers[i]);
        if (r == pid && r > 0) printf("%#lx: getpid\n", numbers[i]);
        else printf("%#lx: %ld\n", numbers[i], r);
    }
    printf("survived\n");
    return 0;
}
