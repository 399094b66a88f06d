/* seccomp(2): strict mode, classic BPF filters (checks Linux makes on the program, every return
 * action the Sentry offers, precedence between filters, SIGSYS of SECCOMP_RET_TRAP with its
 * siginfo, inheritance over fork and execve, /proc/self/status). Each filter runs in a child,
 * which reports its results and exits; the parent prints how it ended. */
#include "probe.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define ARCH_NR AUDIT_ARCH_X86_64
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ON(nr, ret) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (ret))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static long install(struct sock_filter *f, unsigned short n, unsigned flags)
{
    struct sock_fprog prog = { .len = n, .filter = f };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void status_lines(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Seccomp", 7) == 0) printf("  %s", line);
    if (f) fclose(f);
    fflush(stdout);
}

static void ended(const char *what, int pid)
{
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st)) SHOW("%s: exited %d", what, WEXITSTATUS(st));
    else SHOW("%s: killed by signal %d", what, WTERMSIG(st));
}

static volatile int trap_code, trap_syscall, trap_errno, trap_arch_ok, trap_addr_ok, trap_rax;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    trap_code = si->si_code;
    trap_syscall = si->si_syscall;
    trap_errno = si->si_errno;
    trap_arch_ok = si->si_arch == AUDIT_ARCH_X86_64;
    trap_addr_ok = si->si_call_addr != NULL;
    trap_rax = (int)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX];
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        /* After execve: the filter is still there. */
        status_lines();
        errno = 0;
        long r = syscall(SYS_getppid);
        SHOW("after execve getppid: %ld %s", r, r < 0 ? strerrorname_np(errno) : "");
        return 0;
    }
    CHECK(prctl(PR_GET_SECCOMP));
    unsigned actions[] = { SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                           SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW, 0x12340000 };
    for (unsigned i = 0; i < sizeof actions / sizeof *actions; i++) {
        char what[64];
        snprintf(what, sizeof what, "action %#x available", actions[i]);
        probe_report(what, syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &actions[i]));
    }
    CHECK(syscall(SYS_seccomp, 7, 0, NULL));
    CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, NULL));

    /* Programs Linux refuses (as root: CAP_SYS_ADMIN, so no EACCES). */
    struct sock_filter empty[1] = { ALLOW };
    CHECK(install(empty, 0, 0));
    struct sock_filter no_ret[] = { LD_NR };
    CHECK(install(no_ret, 1, 0));
    struct sock_filter far_jump[] = { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0), ALLOW };
    CHECK(install(far_jump, 2, 0));
    struct sock_filter bad_load[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), ALLOW };
    CHECK(install(bad_load, 2, 0));
    struct sock_filter odd_load[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), ALLOW };
    CHECK(install(odd_load, 2, 0));
    struct sock_filter div0[] = { BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), ALLOW };
    CHECK(install(div0, 2, 0));
    struct sock_filter unstored[] = { BPF_STMT(BPF_LD | BPF_MEM, 3), ALLOW };
    CHECK(install(unstored, 2, 0));
    struct sock_filter byte_load[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), ALLOW };
    CHECK(install(byte_load, 2, 0));
    CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (void *)8));
    CHECK(prctl(PR_GET_SECCOMP));

    /* ERRNO, TRACE without a tracer, precedence of two filters, LOG, scratch memory and ALU. */
    int pid = fork();
    if (pid == 0) {
        struct sock_filter older[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 1, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            LD_NR,
            ON(SYS_getpid, SECCOMP_RET_ERRNO | 1),
            ON(SYS_getuid, SECCOMP_RET_ERRNO | 5),
            ON(SYS_getgid, SECCOMP_RET_TRACE),
            ON(SYS_geteuid, SECCOMP_RET_LOG),
            ON(SYS_getegid, SECCOMP_RET_ERRNO | 70000),
            ALLOW,
        };
        CHECK(install(older, sizeof older / sizeof *older, 0));
        CHECK(prctl(PR_GET_SECCOMP));
        /* Newer: ERRNO 2 for getuid (same action: the newer filter's data wins); ALLOW getpid
         * (ERRNO of the older one precedes ALLOW); arg 0 of dup == 1234 → ERRNO(arg0 * 2 - 2460 = 8). */
        struct sock_filter newer[] = {
            LD_NR,
            ON(SYS_getuid, SECCOMP_RET_ERRNO | 2),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_dup, 0, 8),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1234, 0, 6),
            BPF_STMT(BPF_ST, 2),
            BPF_STMT(BPF_LDX | BPF_MEM, 2),
            BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
            BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
            BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 2460),
            BPF_STMT(BPF_RET | BPF_A, 0),
            ALLOW,
        };
        CHECK(install(newer, sizeof newer / sizeof *newer, SECCOMP_FILTER_FLAG_LOG));
        status_lines();
        CHECK(syscall(SYS_getpid));
        CHECK(syscall(SYS_getuid));
        CHECK(syscall(SYS_getgid));
        CHECK(syscall(SYS_geteuid) >= 0);
        CHECK(syscall(SYS_getegid));
        CHECK(syscall(SYS_dup, 1234));
        CHECK(syscall(SYS_dup, 1235));
        CHECK(install(newer, 0, 0));
        /* Children and execve keep the filters. */
        int child = fork();
        if (child == 0) { CHECK(syscall(SYS_getuid)); _exit(0); }
        ended("grandchild", child);
        exit(0);
    }
    ended("errno filters", pid);

    /* TRAP: SIGSYS with SYS_SECCOMP, the call, the arch, the data as si_errno, rax = the call. */
    pid = fork();
    if (pid == 0) {
        struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
        sigaction(SIGSYS, &sa, NULL);
        struct sock_filter f[] = { LD_NR, ON(SYS_getppid, SECCOMP_RET_TRAP | 42), ALLOW };
        CHECK(install(f, sizeof f / sizeof *f, 0));
        long r = syscall(SYS_getppid);
        SHOW("trap: returned %ld, code %d syscall %d errno %d arch ok %d addr ok %d rax %d", r, trap_code, trap_syscall,
             trap_errno, trap_arch_ok, trap_addr_ok, trap_rax);
        /* A blocked SIGSYS is forced: the process dies of it. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSYS);
        sigprocmask(SIG_BLOCK, &set, NULL);
        syscall(SYS_getppid);
        SHOW("trap with SIGSYS blocked: survived");
        exit(0);
    }
    ended("trap", pid);

    /* KILL_PROCESS and KILL_THREAD (one thread: the process) die of SIGSYS. */
    pid = fork();
    if (pid == 0) {
        struct sock_filter f[] = { LD_NR, ON(SYS_getppid, SECCOMP_RET_KILL_PROCESS), ALLOW };
        install(f, sizeof f / sizeof *f, 0);
        syscall(SYS_getppid);
        SHOW("kill process: survived");
        exit(0);
    }
    ended("kill process", pid);
    pid = fork();
    if (pid == 0) {
        struct sock_filter f[] = { LD_NR, ON(SYS_getppid, SECCOMP_RET_KILL_THREAD), ALLOW };
        install(f, sizeof f / sizeof *f, 0);
        syscall(SYS_getppid);
        SHOW("kill thread: survived");
        exit(0);
    }
    ended("kill thread", pid);
    pid = fork();
    if (pid == 0) {
        struct sock_filter f[] = { LD_NR, ON(SYS_getppid, 0x00010000), ALLOW };   /* unknown action: kills */
        install(f, sizeof f / sizeof *f, 0);
        syscall(SYS_getppid);
        SHOW("unknown action: survived");
        exit(0);
    }
    ended("unknown action", pid);

    /* The filter crosses execve. */
    pid = fork();
    if (pid == 0) {
        struct sock_filter f[] = { LD_NR, ON(SYS_getppid, SECCOMP_RET_ERRNO | 33), ALLOW };
        install(f, sizeof f / sizeof *f, 0);
        execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
        _exit(99);
    }
    ended("exec", pid);

    /* Strict mode: read, write, exit, sigreturn only; anything else is SIGKILL. */
    pid = fork();
    if (pid == 0) {
        CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT));
        write(1, "strict: write works\n", 20);
        syscall(SYS_getpid);
        write(1, "strict: survived\n", 17);
        syscall(SYS_exit, 0);
    }
    ended("strict", pid);
    return 0;
}
