// The physical floor of the systrap design on this machine, for issue 13's explanation of the
// per-call gap to runc. Measures, in ns per operation:
//   native      a plain getppid system call (what runc pays);
//   sigsys      getppid trapped by a seccomp SECCOMP_RET_TRAP filter and answered by a SIGSYS
//               handler in the same thread (what every intercepted call pays before any hand-off);
//   spin-pp     a round trip between two threads on different CPUs through one shared cache
//               line, both spinning (the hand-off when the Sentry catches it while spinning);
//   futex-pp    the same round trip with FUTEX_WAIT/FUTEX_WAKE (the hand-off after the spin
//               budget ran out).
// Usage: floor [N]   (static build: gcc -O2 -static -pthread -o floor floor.c)
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)si;
    ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX] = 1;  // the trapped call "returns" 1
}

static int trap_getppid(void) {
    struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
    if (sigaction(SIGSYS, &sa, NULL) < 0) return -1;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static _Atomic int turn;
static long rounds;
static int use_futex;

static void wait_for(int want) {
    int spins = 0;
    while (atomic_load_explicit(&turn, memory_order_acquire) != want) {
        if (use_futex) syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, !want, NULL, NULL, 0);
        else if (++spins < 0) spins = 0;
    }
}
static void hand_to(int next) {
    atomic_store_explicit(&turn, next, memory_order_release);
    if (use_futex) syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
static void *peer(void *arg) {
    (void)arg;
    for (long i = 0; i < rounds; i++) { wait_for(1); hand_to(0); }
    return NULL;
}
static double ping_pong(long n, int futex) {
    pthread_t t;
    rounds = n; use_futex = futex; turn = 0;
    pthread_create(&t, NULL, peer, NULL);
    double start = now_ns();
    for (long i = 0; i < n; i++) { hand_to(1); wait_for(0); }
    double per = (now_ns() - start) / n;
    pthread_join(t, NULL);
    return per;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    double start = now_ns();
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    printf("native %.0f\n", (now_ns() - start) / n);
    printf("spin-pp %.0f\n", ping_pong(n, 0));
    printf("futex-pp %.0f\n", ping_pong(n / 10, 1));
    if (trap_getppid() < 0) { perror("seccomp"); return 1; }
    start = now_ns();
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    printf("sigsys %.0f\n", (now_ns() - start) / n);
    return 0;
}
