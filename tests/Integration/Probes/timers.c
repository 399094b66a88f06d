/* POSIX timers: timer_create/settime/gettime/getoverrun/delete through raw system calls. */
#include "probe.h"
#include <signal.h>
#include <time.h>
#include <sys/wait.h>

static int tcreate(clockid_t clock, struct sigevent *ev, int *id)
{
    return syscall(SYS_timer_create, clock, ev, id);
}
static int tset(int id, int flags, const struct itimerspec *v, struct itimerspec *old)
{
    return syscall(SYS_timer_settime, id, flags, v, old);
}
static int tget(int id, struct itimerspec *v) { return syscall(SYS_timer_gettime, id, v); }
static int tover(int id) { return syscall(SYS_timer_getoverrun, id); }
static int tdel(int id) { return syscall(SYS_timer_delete, id); }

static volatile int handled_code, handled_id, handled_signo;
static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    handled_signo = sig;
    handled_code = si->si_code;
    handled_id = si->si_timerid;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        struct itimerspec v;
        CHECK(tget(0, &v));  /* timers are deleted at exec */
        return 0;
    }
    int id = -1, id2 = -1;
    struct sigevent ev;
    struct itimerspec v, old;
    sigset_t set;
    siginfo_t si;
    struct timespec wait2s = {2, 0};

    /* argument errors */
    CHECK(tcreate(99, NULL, &id));
    CHECK(tcreate(-1000, NULL, &id) == -1 ? -1 : 0);
    CHECK(tcreate(CLOCK_MONOTONIC_RAW, NULL, &id));
    CHECK(tcreate(CLOCK_REALTIME_COARSE, NULL, &id));
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = 7;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id));
    ev.sigev_signo = 65;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR1;
    ev._sigev_un._tid = 999999;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id));
    CHECK(tcreate(CLOCK_MONOTONIC, NULL, (int *)8));
    CHECK(tget(12345, &v));
    CHECK(tdel(12345));
    CHECK(tover(12345));
    CHECK(tset(12345, 0, &v, NULL));

    /* default sigevent: SIGALRM, si_value = timer id */
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    CHECK(tcreate(CLOCK_MONOTONIC, NULL, &id));
    CHECK(tset(id, 0, NULL, NULL));
    memset(&v, 0, sizeof v);
    v.it_value.tv_nsec = 1000000000;
    CHECK(tset(id, 0, &v, NULL));
    v.it_value.tv_nsec = -1;
    CHECK(tset(id, 0, &v, NULL));
    v.it_value.tv_nsec = 10 * 1000000;
    CHECK(tset(id, 0, &v, NULL));
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    memset(&si, 0, sizeof si);
    CHECK(sigtimedwait(&alrm, &si, &wait2s));
    SHOW("code %d timerid==id %d value==id %d overrun %d", si.si_code, si.si_timerid == id, si.si_value.sival_int == id, si.si_overrun);
    CHECK(tget(id, &v));
    SHOW("expired one-shot: %ld %ld %ld %ld", (long)v.it_value.tv_sec, v.it_value.tv_nsec, (long)v.it_interval.tv_sec, v.it_interval.tv_nsec);

    /* gettime / old value / disarm */
    memset(&v, 0, sizeof v);
    v.it_value.tv_sec = 10;
    v.it_interval.tv_sec = 3;
    v.it_interval.tv_nsec = 500;
    CHECK(tset(id, 0, &v, &old));
    SHOW("old %ld %ld", (long)old.it_value.tv_sec, old.it_value.tv_nsec);
    CHECK(tget(id, &v));
    SHOW("left in (9,10]s %d interval %ld.%09ld", v.it_value.tv_sec == 9 || (v.it_value.tv_sec == 10 && v.it_value.tv_nsec == 0),
         (long)v.it_interval.tv_sec, v.it_interval.tv_nsec);
    memset(&v, 0, sizeof v);
    CHECK(tset(id, 0, &v, &old));
    SHOW("old left in (9,10]s %d old interval %ld.%09ld", old.it_value.tv_sec == 9, (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    CHECK(tget(id, &v));
    SHOW("disarmed %ld %ld", (long)v.it_value.tv_sec, v.it_value.tv_nsec);
    CHECK(tget(id, (struct itimerspec *)8));

    /* second timer: SIGRTMIN, explicit value, periodic: overruns while the signal is queued */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 0x1234;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id2));
    SHOW("second id is next %d", id2 == id + 1);
    memset(&v, 0, sizeof v);
    v.it_value.tv_nsec = 1000000;
    v.it_interval.tv_nsec = 1000000;
    CHECK(tset(id2, 0, &v, NULL));
    usleep(100 * 1000);
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    memset(&si, 0, sizeof si);
    CHECK(sigtimedwait(&rt, &si, &wait2s) == SIGRTMIN);
    SHOW("rt code %d value 0x%x overrun>=20 %d", si.si_code, si.si_value.sival_int, si.si_overrun >= 20);
    int ov = tover(id2);
    SHOW("getoverrun == si_overrun %d", ov == si.si_overrun);
    memset(&v, 0, sizeof v);
    CHECK(tset(id2, 0, &v, NULL));
    CHECK(tdel(id2));
    CHECK(tdel(id2));
    /* the periodic timer may have queued one more SIGRTMIN after the dequeue and before the
     * disarm (a slow machine); drop it so the pending set below does not depend on timing */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&rt, &si, &zero) > 0)
        ;

    /* absolute time on CLOCK_REALTIME */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(&v, 0, sizeof v);
    v.it_value = now;
    v.it_value.tv_nsec += 20 * 1000000;
    if (v.it_value.tv_nsec >= 1000000000) { v.it_value.tv_sec++; v.it_value.tv_nsec -= 1000000000; }
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    int id3;
    CHECK(tcreate(CLOCK_REALTIME, &ev, &id3));
    CHECK(tset(id3, TIMER_ABSTIME, &v, NULL));
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    CHECK(sigtimedwait(&usr2, &si, &wait2s));
    /* an absolute time in the past fires at once */
    v.it_value.tv_sec = 1;
    v.it_value.tv_nsec = 0;
    CHECK(tset(id3, TIMER_ABSTIME, &v, NULL));
    CHECK(sigtimedwait(&usr2, &si, &wait2s));
    CHECK(tdel(id3));

    /* SIGEV_NONE: no signal, gettime counts down */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    int id4;
    CHECK(tcreate(CLOCK_BOOTTIME, &ev, &id4));
    memset(&v, 0, sizeof v);
    v.it_value.tv_nsec = 5 * 1000000;
    CHECK(tset(id4, 0, &v, NULL));
    usleep(30 * 1000);
    sigset_t pend;
    sigpending(&pend);
    SHOW("SIGEV_NONE pending alrm %d rt %d usr2 %d", sigismember(&pend, SIGALRM), sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGUSR2));
    CHECK(tget(id4, &v));
    SHOW("SIGEV_NONE after expiry %ld %ld", (long)v.it_value.tv_sec, v.it_value.tv_nsec);
    CHECK(tdel(id4));

    /* SIGEV_THREAD_ID to the caller, caught by a handler */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR1;
    ev._sigev_un._tid = syscall(SYS_gettid);
    int id5;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id5));
    memset(&v, 0, sizeof v);
    v.it_value.tv_nsec = 5 * 1000000;
    CHECK(tset(id5, 0, &v, NULL));
    for (int i = 0; i < 200 && !handled_signo; i++) usleep(10000);
    SHOW("handler signo %d code %d id ok %d", handled_signo, handled_code, handled_id == id5);

    /* CPU-time clock: fires after the process has used 20 ms of CPU */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    int id6;
    CHECK(tcreate(CLOCK_PROCESS_CPUTIME_ID, &ev, &id6));
    memset(&v, 0, sizeof v);
    v.it_value.tv_nsec = 20 * 1000000;
    CHECK(tset(id6, 0, &v, NULL));
    int fired = 0;
    for (volatile long n = 0; n < 4000000000L; n++) {
        if ((n & 0xfffff) == 0) {
            sigpending(&pend);
            if (sigismember(&pend, SIGUSR2)) { fired = 1; break; }
        }
    }
    SHOW("cpu timer fired %d", fired);

    /* Dynamic CPU clock ids: glibc's timer_create passes CLOCK_PROCESS_CPUTIME_ID as
     * MAKE_PROCESS_CPUCLOCK(0, SCHED) = -6 and the thread clock as -2; clock_getcpuclockid(3)
     * gives ~pid << 3 | 2. Another process's or a nonexistent pid's clock, and type 3, are EINVAL
     * or accepted as Linux says. */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    clockid_t own = 0;
    CHECK(clock_getcpuclockid(getpid(), &own));
    clockid_t dyn[] = {-6, -2, own, ((~(clockid_t)999999) << 3) | 2, -5, ((~(clockid_t)getpid()) << 3) | 3};
    for (unsigned k = 0; k < sizeof dyn / sizeof dyn[0]; k++) {
        int idd = -1;
        int r = tcreate(dyn[k], &ev, &idd);
        int e = r < 0 ? errno : 0;
        if (r == 0) {
            memset(&v, 0, sizeof v);
            v.it_value.tv_sec = 100;
            int set = tset(idd, 0, &v, NULL);
            struct itimerspec got;
            int g = tget(idd, &got);
            SHOW("dynamic clock %u: created, set %d, armed %d", k, set, g == 0 && got.it_value.tv_sec > 0);
            tdel(idd);
        } else {
            SHOW("dynamic clock %u: errno %d", k, e);
        }
    }

    /* not inherited by fork */
    pid_t child = fork();
    if (child == 0) {
        CHECK(tget(id, &v));
        _exit(0);
    }
    waitpid(child, NULL, 0);
    /* deleted by exec */
    execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
    perror("exec");
    return 1;
}
