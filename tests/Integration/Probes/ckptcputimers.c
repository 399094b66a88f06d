/* CPU-time timers across a checkpoint: ITIMER_VIRTUAL (3.0 s of CPU), a POSIX timer on
 * CLOCK_PROCESS_CPUTIME_ID (3.5 s) and ITIMER_PROF (4.0 s, then every 0.5 s) are armed at once,
 * the process burns CPU; it prints "ready" at 2.0 s of CPU and, once SIGUSR1 came and every
 * timer fired, for each expiry whether the process CPU clock (the scheduler's) read what it was
 * armed for. ITIMER_VIRTUAL and ITIMER_PROF count tick-sampled user/system time, which drifts
 * from the scheduler's clock on a loaded machine, so they may be 1 s early or late; the POSIX
 * timer (on the scheduler's clock) 0.4 s early or 0.6 s late. A CPU clock that started again from
 * zero at restore, or a timer re-armed with its whole time, is off by the 2.0 s used before. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go, fired[3], order[4], norder;
static volatile double at[3];

static double cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int s) {
    int i = s == SIGVTALRM ? 0 : s == SIGUSR2 ? 1 : 2;
    if (s == SIGPROF && fired[2]) { fired[2]++; return; }
    at[i] = cpu();
    fired[i] = 1;
    if (norder < 4) order[norder++] = i;
}

static void on_usr1(int s) { (void)s; go = 1; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct itimerval virt = {{0, 0}, {3, 0}}, prof = {{0, 500000}, {4, 0}};
    timer_t t;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    struct itimerspec its = {{0, 0}, {3, 500000000}};
    if (setitimer(ITIMER_VIRTUAL, &virt, NULL) != 0 || setitimer(ITIMER_PROF, &prof, NULL) != 0) return 2;
    if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t) != 0 || timer_settime(t, 0, &its, NULL) != 0) return 3;
    int ready = 0;
    volatile unsigned long spin = 0;
    while (!(go && fired[0] && fired[1] && fired[2] >= 2)) {
        for (int i = 0; i < 2000000; i++) spin++;
        if (!ready && cpu() >= 2.0) {
            ready = 1;
            printf("ready\n");
            fflush(stdout);
        }
        if (cpu() > 20) break;
    }
    const char *names[3] = {"ITIMER_VIRTUAL", "CPU-clock POSIX timer", "ITIMER_PROF"};
    const double armed[3] = {3.0, 3.5, 4.0}, early[3] = {1.0, 0.4, 1.0}, late[3] = {1.0, 0.6, 1.0};
    for (int i = 0; i < 3; i++)
        printf("%s: %s\n", names[i], !fired[i] ? "never fired" : at[i] < armed[i] - early[i] ? "early" : at[i] > armed[i] + late[i] ? "late" : "on time");
    printf("order:");
    for (int i = 0; i < norder; i++) printf(" %d", order[i]);
    printf("\nITIMER_PROF interval fired again: %s\n", fired[2] >= 2 ? "yes" : "no");
    return 0;
}
