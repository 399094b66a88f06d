/* Checkpoint/restore probe: sets up an eventfd with a count, a semaphore eventfd, an interval
 * timerfd, a signalfd with a signal pending, an epoll instance watching the eventfd, a pipe with
 * data and a one-shot entry that already fired, and two POSIX timers (one ticking, one disarmed),
 * prints "ready" and waits for SIGUSR1. Then it reports what each object holds; every line is the
 * same whether or not the process was checkpointed and restored while it waited. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go, ticks;

static void on_usr1(int sig) { (void)sig; go = 1; }
static void on_tick(int sig) { (void)sig; ticks++; }

int main(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGRTMIN, on_tick);

    int ev = eventfd(5, EFD_CLOEXEC);
    int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t add = 2;
    if (ev < 0 || sem < 0 || write(ev, &add, 8) != 8) return 1;

    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 50000000}, {0, 50000000}};
    if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0) return 2;

    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    int sfd = signalfd(-1, &usr2, SFD_NONBLOCK);
    if (sfd < 0) return 3;
    raise(SIGUSR2);

    int p[2];
    if (pipe(p) != 0 || write(p[1], "x", 1) != 1) return 4;
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 111};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0) return 5;
    e.data.u64 = 222;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e) != 0) return 6;
    e.events = EPOLLIN | EPOLLONESHOT;
    e.data.u64 = 333;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sem, &e) != 0) return 7;
    struct epoll_event out[8];
    int n = epoll_wait(ep, out, 8, 0);   /* all three ready; the one-shot entry is now disabled */

    timer_t ticking, idle;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
    if (timer_create(CLOCK_MONOTONIC, &sev, &ticking) != 0 || timer_create(CLOCK_REALTIME, NULL, &idle) != 0) return 8;
    struct itimerspec tick = {{0, 20000000}, {0, 20000000}};
    if (timer_settime(ticking, 0, &tick, NULL) != 0) return 9;

    printf("ready %d\n", n);
    fflush(stdout);
    while (!go) pause();

    n = epoll_wait(ep, out, 8, 0);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) sum += out[i].data.u64 * 10 + (out[i].events & EPOLLIN);
    printf("epoll %d %llu\n", n, (unsigned long long)sum);
    uint64_t v = 0;
    if (read(ev, &v, 8) != 8) return 10;
    printf("eventfd %llu\n", (unsigned long long)v);
    long got = 0;
    while (read(sem, &v, 8) == 8) got += (long)v;
    printf("semaphore %ld\n", got);
    if (read(tfd, &v, 8) != 8) return 11;
    struct itimerspec now;
    timerfd_gettime(tfd, &now);
    printf("timerfd fired %d interval %ld\n", v >= 1, now.it_interval.tv_nsec);
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof si);
    ssize_t r = read(sfd, &si, sizeof si);
    printf("signalfd %zd %d\n", r, si.ssi_signo == SIGUSR2);
    int start = ticks;
    while (ticks < start + 3) pause();
    timer_gettime(ticking, &now);
    printf("posix timer ticking, interval %ld, ids %ld %ld\n", now.it_interval.tv_nsec, (long)(intptr_t)ticking, (long)(intptr_t)idle);
    timer_gettime(idle, &now);
    printf("idle timer %ld %ld\n", (long)now.it_value.tv_sec, now.it_value.tv_nsec);
    return 0;
}
