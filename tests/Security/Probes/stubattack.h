/* Shared helpers of the attack probes against the systrap platform (tests/Security). The
 * addresses and offsets mirror sandbox/Platform/Systrap/{SystrapStub,SharedPage,StubFdChannel}.cs:
 * the probes are hostile application code that knows the stub's layout, as a real attacker would. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define STUB_BASE 0x7e1000000000UL       /* the stub's code page (r-x, readable by the application) */
#define SLOT_BASE 0x7e1000020000UL       /* thread slot i: SLOT_BASE + i * SLOT_SIZE, shared page first */
#define SLOT_SIZE 0x20000UL
#define SLOT_PAGE(i) ((volatile unsigned char *)(SLOT_BASE + (unsigned long)(i) * SLOT_SIZE))

/* SharedPage offsets. */
#define OFF_STATE 0x00
#define OFF_STUB_SLEEPING 0x04
#define OFF_SENTRY_SLEEPING 0x08
#define OFF_NR 0x10
#define OFF_ARGS 0x18
#define OFF_RESULT 0x48
#define OFF_SPIN 0x64
#define OFF_SENTRY_PID 0x78
#define OFF_ALIVE 0x220
#define OFF_SCRATCH 0xE00                /* the fd channel's socketpair result and recvmsg buffers */

/* State word values. */
#define ST_REPORTED 1
#define ST_RESUME 2
#define ST_HOSTCALL 3
#define ST_FORK 4
#define ST_THREAD 5

#define F32(p, off) (*(volatile int32_t *)((p) + (off)))
#define F64(p, off) (*(volatile int64_t *)((p) + (off)))

#define SAY(fmt, ...) do { printf(fmt "\n", ##__VA_ARGS__); fflush(stdout); } while (0)

/* A raw system call (no errno, no TLS): returns -errno on failure. */
static inline long rsys(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* Becomes uid/gid 1000 with no capabilities (the probe starts as root only to prepare files). */
static void drop_to_user(void)
{
    if (syscall(SYS_setgroups, 0, NULL) != 0 || setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) {
        SAY("drop privileges failed: %s", strerror(errno));
        exit(2);
    }
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "CapEff:", 7) == 0 && strtoull(line + 7, NULL, 16) != 0) {
            SAY("still has capabilities: %s", line);
            exit(2);
        }
    if (f) fclose(f);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The stub's host-call `syscall` instruction: `0f 05` followed by `mov [rbx+0x48], rax` (the
 * result goes to the page rbx points at, then the stub's report path runs on that page). 0 when
 * the stub has no such instruction (the probe must then be updated to the new stub). */
static unsigned long find_hostcall_syscall(void)
{
    const unsigned char *p = (const unsigned char *)STUB_BASE;
    for (int i = 0x100; i + 6 <= 0x1000; i++)
        if (p[i] == 0x0f && p[i + 1] == 0x05 && p[i + 2] == 0x48 && p[i + 3] == 0x89 && p[i + 4] == 0x43 && p[i + 5] == 0x48)
            return STUB_BASE + i;
    return 0;
}

/* Jumps to the stub instruction at `target` with rax = regs[0] (the number), rdi, rsi, rdx, r10,
 * r8, r9 = regs[1..6] and rbx = r12 = `page`. Never returns (the stub code goes on from there). */
__attribute__((noreturn)) void stub_jump(unsigned long target, unsigned long page, const long *regs);
__asm__(".text\n.globl stub_jump\nstub_jump:\n"
        "  mov %rdi, %r11\n"
        "  mov %rsi, %rbx\n"
        "  mov %rsi, %r12\n"
        "  mov %rdx, %rcx\n"
        "  mov 0(%rcx), %rax\n"
        "  mov 8(%rcx), %rdi\n"
        "  mov 16(%rcx), %rsi\n"
        "  mov 24(%rcx), %rdx\n"
        "  mov 32(%rcx), %r10\n"
        "  mov 40(%rcx), %r8\n"
        "  mov 48(%rcx), %r9\n"
        "  jmp *%r11\n");

#define NO_RESULT 0x5a5a5a5a5a5a5a5aL

/* A page laid out like a shared page, shared with the forked attempt so the parent reads the
 * result: state 0, neither side sleeping, no spinning (the stub futex-waits 1 s at a time and
 * exits unless getppid() equals the sentry-pid word). */
__attribute__((unused)) static volatile unsigned char *fake_page(long sentry_pid_word)
{
    volatile unsigned char *p = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        SAY("mmap fake page: %s", strerror(errno));
        exit(2);
    }
    F64(p, OFF_RESULT) = NO_RESULT;
    F32(p, OFF_SPIN) = 0;
    F32(p, OFF_SENTRY_PID) = (int32_t)sentry_pid_word;
    return p;
}

/* Runs system call nr(args) from the stub's own code in a forked child, with rbx = `page`, and
 * waits (up to 5 s) for the result at page+0x48 (set `page` to the fake page of the parent). The
 * child is then killed, unless keep_child (its pid is returned in *child). NO_RESULT if none came:
 * the child died or was killed before the call returned. */
__attribute__((unused)) static long stub_call_in_child(volatile unsigned char *page, long nr, long a0, long a1, long a2, long a3,
                               long a4, long a5, int keep_child, pid_t *child, int *status)
{
    unsigned long target = find_hostcall_syscall();
    if (target == 0) {
        SAY("no host-call syscall instruction found in the stub's code page");
        exit(3);
    }
    F64(page, OFF_RESULT) = NO_RESULT;
    F32(page, OFF_STATE) = 0;
    long regs[7] = { nr, a0, a1, a2, a3, a4, a5 };
    pid_t pid = fork();
    if (pid == 0)
        stub_jump(target, (unsigned long)page, regs);
    double end = now_s() + 5;
    while (F64(page, OFF_RESULT) == NO_RESULT && now_s() < end) {
        if (waitpid(pid, status, WNOHANG) == pid) {
            if (child) *child = -1;
            return F64(page, OFF_RESULT);
        }
        usleep(1000);
    }
    long r = F64(page, OFF_RESULT);
    if (keep_child && child) {
        *child = pid;
        return r;
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    if (child) *child = -1;
    return r;
}

/* "name: 0", "name: -1 EPERM", "name: no result (child killed by signal 9)". */
__attribute__((unused)) static void show_result(const char *what, long r, int status)
{
    if (r == NO_RESULT) {
        if (WIFSIGNALED(status))
            SAY("%s: no result (killed by signal %d)", what, WTERMSIG(status));
        else
            SAY("%s: no result (exit %d)", what, WEXITSTATUS(status));
    } else if (r < 0 && r > -4096)
        SAY("%s: -1 %s", what, strerrorname_np((int)-r));
    else
        SAY("%s: %ld", what, r);
}
