/* Process calls and their errors: wait4/waitid variants and status encoding, process groups and
 * sessions, prctl (pdeathsig, dumpable, child subreaper, name), priorities, rlimits, resource
 * usage, kill and sigqueue edge cases, sigaltstack, sigsuspend/sigtimedwait, clocks. */
#include "probe.h"
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t got;
static void on_signal(int sig) { got = sig; }

static void waits(void)
{
    int st;
    pid_t c = fork();
    if (c == 0) _exit(42);
    CHECK(waitpid(c, &st, 0) == c);
    SHOW("exited %d code %d status 0x%x", WIFEXITED(st), WEXITSTATUS(st), st);
    c = fork();
    if (c == 0) {
        raise(SIGTERM);
        _exit(1);
    }
    waitpid(c, &st, 0);
    SHOW("signaled %d sig %d core %d", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st));
    /* The child waits on a pipe once continued: had it exited already, waitpid would report
     * the exit instead of the continue, on Linux as here. */
    int hold[2];
    CHECK(pipe(hold));
    c = fork();
    if (c == 0) {
        close(hold[1]);
        raise(SIGSTOP);
        char b;
        while (read(hold[0], &b, 1) < 0 && errno == EINTR) {}
        _exit(3);
    }
    close(hold[0]);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    SHOW("stopped %d sig %d status 0x%x", WIFSTOPPED(st), WSTOPSIG(st), st);
    kill(c, SIGCONT);
    CHECK(waitpid(c, &st, WCONTINUED) == c);
    SHOW("continued %d status 0x%x", WIFCONTINUED(st), st);
    close(hold[1]);
    CHECK(waitpid(c, &st, 0) == c);
    SHOW("then exited %d", WEXITSTATUS(st));

    /* waitid: WNOWAIT leaves the zombie, siginfo fields */
    c = fork();
    if (c == 0) _exit(5);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    SHOW("waitid code %d status %d pid ok %d signo %d", si.si_code, si.si_status, si.si_pid == c, si.si_signo);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_ALL, 0, &si, WEXITED));
    SHOW("reaped %d status %d", si.si_pid == c, si.si_status);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
    CHECK(waitid(P_PID, 1, &si, WEXITED));
    CHECK(waitid(P_ALL, 0, &si, 0));
    CHECK(waitid(7, 0, &si, WEXITED));
    CHECK(waitpid(-1, &st, WNOHANG));
    CHECK(waitpid(-1, &st, 0x1000));
    /* WNOHANG with a running child returns 0 */
    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    CHECK(waitpid(c, &st, WNOHANG));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOHANG));
    SHOW("waitid nohang pid %d", si.si_pid);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    SHOW("killed sig %d", WTERMSIG(st));
    /* rusage of reaped children */
    struct rusage ru;
    CHECK(getrusage(RUSAGE_CHILDREN, &ru));
    CHECK(getrusage(RUSAGE_SELF, &ru));
    CHECK(getrusage(RUSAGE_THREAD, &ru));
    CHECK(getrusage(5, &ru));
    struct tms t;
    SHOW("times ok %d", times(&t) != (clock_t)-1);
}

static void groups(void)
{
    pid_t me = getpid();
    SHOW("pgid is self %d sid is self %d", getpgid(0) == getpgrp(), getsid(0) == getsid(me));
    CHECK(setpgid(0, 0));
    CHECK(setpgid(-1, 0));
    CHECK(setpgid(0, -1));
    CHECK(setpgid(99999, 0));
    CHECK(getpgid(99999));
    CHECK(getsid(99999));
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        char x;
        read(p[0], &x, 1);
        _exit(0);
    }
    CHECK(setpgid(c, c));
    SHOW("child pgid is its pid %d", getpgid(c) == c);
    CHECK(setpgid(c, me));
    write(p[1], "x", 1);
    waitpid(c, NULL, 0);
    /* a group leader cannot setsid; a child can, then cannot setpgid into our session */
    CHECK(setpgid(0, 0));
    CHECK(setsid());
    c = fork();
    if (c == 0) {
        pid_t s = setsid();
        SHOW("child setsid is its pid %d", s == getpid());
        CHECK(setsid());
        CHECK(setpgid(0, getppid()));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void prctls(void)
{
    CHECK(prctl(PR_GET_DUMPABLE));
    CHECK(prctl(PR_SET_DUMPABLE, 0));
    CHECK(prctl(PR_GET_DUMPABLE));
    CHECK(prctl(PR_SET_DUMPABLE, 2));
    CHECK(prctl(PR_SET_DUMPABLE, 1));
    int sig = -1;
    CHECK(prctl(PR_GET_PDEATHSIG, &sig));
    SHOW("pdeathsig %d", sig);
    CHECK(prctl(PR_SET_PDEATHSIG, 99));
    int sub = -1;
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &sub));
    SHOW("subreaper %d", sub);
    char name[32] = "";
    CHECK(prctl(PR_SET_NAME, "probe-name-that-is-long"));
    CHECK(prctl(PR_GET_NAME, name));
    SHOW("name [%s]", name);
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
    CHECK(prctl(PR_GET_KEEPCAPS));
    CHECK(prctl(PR_GET_TIMERSLACK) > 0);
    CHECK(prctl(PR_CAPBSET_READ, 0));
    CHECK(prctl(PR_CAPBSET_READ, 99));
    CHECK(prctl(9999));

    /* a subreaper gets the orphaned grandchild */
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1));
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            char x;
            close(p[1]);
            read(p[0], &x, 1);
            _exit(9);
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);
    close(p[0]);
    write(p[1], "x", 1);
    int st;
    pid_t g = wait(&st);
    SHOW("subreaper reaped the grandchild %d code %d", g > 0, WEXITSTATUS(st));
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0));

    /* PR_SET_PDEATHSIG fires when the parent thread's process exits */
    pipe(p);
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            signal(SIGUSR1, on_signal);
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            write(p[1], "r", 1);
            while (!got) pause();
            SHOW("grandchild got the parent-death signal %d", got);
            _exit(0);
        }
        char x;
        read(p[0], &x, 1);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    /* the grandchild went to init: its exit closes the last write end, so EOF follows its line */
    close(p[1]);
    char x;
    read(p[0], &x, 1);
}

static void priorities(void)
{
    errno = 0;
    int pr = getpriority(PRIO_PROCESS, 0);
    SHOW("priority %d errno %d", pr, errno);
    CHECK(setpriority(PRIO_PROCESS, 0, 5));
    errno = 0;
    SHOW("priority now %d", getpriority(PRIO_PROCESS, 0));
    CHECK(setpriority(PRIO_PROCESS, 0, 10));
    CHECK(setpriority(9, 0, 0));
    CHECK(getpriority(PRIO_PROCESS, 99999));
    CHECK(nice(0));
    CHECK(sched_getscheduler(0));
    struct sched_param sp = {0};
    CHECK(sched_getparam(0, &sp));
    CHECK(sched_get_priority_max(SCHED_FIFO));
    CHECK(sched_get_priority_min(SCHED_OTHER));
    CHECK(sched_setscheduler(0, SCHED_OTHER, &sp));
    sp.sched_priority = 5;
    CHECK(sched_setscheduler(0, SCHED_OTHER, &sp));
    CHECK(sched_yield());
    struct timespec rr;
    CHECK(sched_rr_get_interval(0, &rr));
}

static void limits(void)
{
    syscall(SYS_close_range, 3, ~0U, 0);
    struct rlimit r;
    CHECK(getrlimit(RLIMIT_NOFILE, &r));
    struct rlimit lower = {64, r.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &lower));
    int fds = 0;
    for (int i = 0; i < 100; i++)
        if (dup(0) >= 0) fds++;
    SHOW("dups under a limit of 64: %d errno %s", fds, strerrorname_np(errno));
    CHECK(dup2(0, 64));
    CHECK(dup2(0, 63) == 63);
    for (int i = 3; i < 64; i++) close(i);
    struct rlimit bad = {10, 5};
    CHECK(setrlimit(RLIMIT_NOFILE, &bad));
    CHECK(setrlimit(99, &r));
    CHECK(getrlimit(99, &r));
    CHECK(prlimit(0, RLIMIT_CORE, NULL, &r));
    CHECK(prlimit(99999, RLIMIT_CORE, NULL, &r));
}

static void signals(void)
{
    CHECK(kill(getpid(), 0));
    CHECK(kill(99999, 0));
    CHECK(kill(getpid(), 99));
    CHECK(kill(0, 0));
    union sigval v = {.sival_int = 7};
    signal(SIGUSR2, on_signal);
    got = 0;
    CHECK(sigqueue(getpid(), SIGUSR2, v));
    SHOW("sigqueue delivered %d", got);
    CHECK(sigqueue(getpid(), 99, v));
    CHECK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, NULL));
    CHECK(syscall(SYS_tgkill, getpid(), 99999, SIGUSR2));
    CHECK(syscall(SYS_tgkill, getpid(), -1, SIGUSR2));

    stack_t ss = {0}, old;
    CHECK(sigaltstack(NULL, &old));
    SHOW("altstack disabled %d", old.ss_flags == SS_DISABLE);
    ss.ss_sp = malloc(1024);
    ss.ss_size = 1024;
    CHECK(sigaltstack(&ss, NULL));
    ss.ss_size = SIGSTKSZ * 4;
    ss.ss_sp = malloc(ss.ss_size);
    ss.ss_flags = 99;
    CHECK(sigaltstack(&ss, NULL));
    ss.ss_flags = 0;
    CHECK(sigaltstack(&ss, NULL));
    CHECK(sigaltstack(NULL, &old));
    SHOW("altstack flags %d size ok %d", old.ss_flags, old.ss_size == ss.ss_size);

    CHECK(sigaction(SIGKILL, &(struct sigaction){.sa_handler = on_signal}, NULL));
    CHECK(sigaction(0, NULL, NULL));
    CHECK(sigaction(65, NULL, NULL));
    CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 4));
    CHECK(syscall(SYS_rt_sigprocmask, 7, NULL, NULL, 8));

    /* sigtimedwait: a blocked pending signal, then a timeout */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    SHOW("pending usr1 %d", sigismember(&pend, SIGUSR1));
    siginfo_t si;
    CHECK(sigtimedwait(&s, &si, &(struct timespec){0, 1000000}));
    SHOW("code %d pid ok %d", si.si_code, si.si_pid == getpid());
    CHECK(sigtimedwait(&s, &si, &(struct timespec){0, 1000000}));
    CHECK(sigtimedwait(&s, &si, &(struct timespec){0, -1}));
    /* sigsuspend returns EINTR after the handler ran */
    signal(SIGUSR1, on_signal);
    got = 0;
    pid_t c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigset_t none;
    sigemptyset(&none);
    CHECK(sigsuspend(&none));
    SHOW("sigsuspend handler ran %d", got);
    waitpid(c, NULL, 0);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static void clocks(void)
{
    struct timespec ts;
    CHECK(clock_getres(CLOCK_MONOTONIC, &ts));
    SHOW("monotonic res %ld", ts.tv_nsec);
    CHECK(clock_getres(CLOCK_REALTIME_COARSE, &ts) == 0 && ts.tv_nsec > 1 ? 0 : -1);
    CHECK(clock_gettime(99, &ts));
    CHECK(clock_getres(99, &ts));
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    CHECK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts));
    CHECK(clock_gettime(CLOCK_BOOTTIME, &ts));
    CHECK(clock_gettime(CLOCK_TAI, &ts));
    CHECK(nanosleep(&(struct timespec){0, 1000000000}, NULL));
    CHECK(nanosleep(&(struct timespec){-1, 0}, NULL));
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000}, NULL));
    CHECK(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){0, 1000}, NULL));
    CHECK(clock_nanosleep(99, 0, &(struct timespec){0, 1000}, NULL));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL));
    struct itimerval it = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL));
    CHECK(setitimer(9, &it, NULL));
    CHECK(getitimer(ITIMER_VIRTUAL, &it));
    CHECK(alarm(0));
    unsigned cpu, node;
    CHECK(syscall(SYS_getcpu, &cpu, &node, NULL));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    waits();
    /* in a child: a container's init is a session leader, a native probe need not be */
    pid_t c = fork();
    if (c == 0) {
        groups();
        _exit(0);
    }
    waitpid(c, NULL, 0);
    prctls();
    priorities();
    limits();
    signals();
    clocks();
    return 0;
}
