/* Interval timers on CPU time (ITIMER_VIRTUAL: SIGVTALRM, ITIMER_PROF: SIGPROF): reading back,
 * firing only while the process uses CPU, periodic reloads, disarming, not inherited by fork,
 * argument errors. */
#include "probe.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t fired[32];

static void handler(int sig) { fired[sig]++; }

/* Spins in user code until `sig` fired `n` times or 5 s of CPU passed. */
static int burn_until(int sig, int n)
{
    volatile unsigned long spin = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    while (fired[sig] < n) {
        for (int i = 0; i < 100000; i++) spin++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
        if (now.tv_sec - start.tv_sec > 5) return 0;
    }
    return 1;
}

static void check(int which, int sig, const char *name)
{
    struct itimerval v = {{0, 50000}, {0, 100000}}, got;
    fired[sig] = 0;
    /* Linux adds one tick to a CPU timer's first expiry. The CPU clocks advance a whole tick at a
     * time, so a tick landing between the two calls can eat the bonus: look up to three times. */
    int in_window = 0;
    for (int attempt = 0; attempt < 3 && !in_window; attempt++) {
        int rc = setitimer(which, &v, NULL) | getitimer(which, &got);
        in_window = rc == 0 && got.it_value.tv_sec == 0 && got.it_value.tv_usec > 100000 && got.it_value.tv_usec <= 110000;
    }
    SHOW("%s interval %ld.%06ld value in (0.1, 0.11]: %d", name, (long)got.it_interval.tv_sec, (long)got.it_interval.tv_usec, in_window);
    struct timespec nap = {0, 200000000};
    nanosleep(&nap, NULL);
    SHOW("%s fired while sleeping: %d", name, fired[sig] > 0 && which == ITIMER_VIRTUAL);
    SHOW("%s fired 3 times while spinning: %d", name, burn_until(sig, 3));
    struct itimerval zero = {{0, 0}, {0, 0}}, old;
    CHECK(setitimer(which, &zero, &old));
    SHOW("%s old interval %ld.%06ld", name, (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec);
    CHECK(getitimer(which, &got));
    SHOW("%s disarmed %ld.%06ld %ld.%06ld", name, (long)got.it_interval.tv_sec, (long)got.it_interval.tv_usec,
         (long)got.it_value.tv_sec, (long)got.it_value.tv_usec);
}

int main(void)
{
    struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);
    check(ITIMER_VIRTUAL, SIGVTALRM, "virtual");
    check(ITIMER_PROF, SIGPROF, "prof");

    /* One-shot: fires once. */
    struct itimerval once = {{0, 0}, {0, 20000}}, got;
    fired[SIGPROF] = 0;
    CHECK(setitimer(ITIMER_PROF, &once, NULL));
    SHOW("one-shot fired: %d", burn_until(SIGPROF, 1));
    CHECK(getitimer(ITIMER_PROF, &got));
    SHOW("one-shot after: %ld %ld", (long)got.it_value.tv_sec, (long)got.it_value.tv_usec);

    /* fork: the child starts with disarmed timers. */
    struct itimerval v = {{1, 0}, {10, 0}};
    CHECK(setitimer(ITIMER_VIRTUAL, &v, NULL));
    pid_t pid = fork();
    if (pid == 0) {
        getitimer(ITIMER_VIRTUAL, &got);
        SHOW("child virtual %ld %ld", (long)got.it_value.tv_sec, (long)got.it_interval.tv_sec);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &got));
    SHOW("parent keeps interval %ld", (long)got.it_interval.tv_sec);

    struct itimerval bad = {{0, 0}, {0, 1000000}};
    CHECK(setitimer(ITIMER_VIRTUAL, &bad, NULL));
    CHECK(setitimer(3, &v, NULL));
    CHECK(getitimer(3, &got));
    CHECK(syscall(SYS_getitimer, ITIMER_PROF, (void *)8));
    CHECK(syscall(SYS_setitimer, ITIMER_PROF, (void *)8, NULL));
    return 0;
}
