/* The temporary signal mask of ppoll, pselect6, epoll_pwait and epoll_pwait2: a signal it
 * unblocks interrupts the wait (EINTR) and its handler runs under that mask, the caller's mask
 * is back afterwards; a ready wait restores the mask at once and leaves the signal pending;
 * EINVAL for a sigset size other than 8, EFAULT for a bad mask. */
#include "probe.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

static volatile int handled, usr2_blocked_in_handler;

static void handler(int sig)
{
    (void)sig;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    usr2_blocked_in_handler = sigismember(&cur, SIGUSR2);
    handled++;
}

static void after(const char *what, long r)
{
    sigset_t cur, pend;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    sigpending(&pend);
    SHOW("%s: %ld %s handled %d usr2-blocked-in-handler %d | usr1 blocked %d usr2 blocked %d usr1 pending %d", what, r,
         r < 0 ? strerrorname_np(errno) : "-", handled, usr2_blocked_in_handler, sigismember(&cur, SIGUSR1),
         sigismember(&cur, SIGUSR2), sigismember(&pend, SIGUSR1));
    handled = 0;
    usr2_blocked_in_handler = 0;
}

int main(void)
{
    struct sigaction sa = {.sa_handler = handler};
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, temp;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_SETMASK, &block, NULL);
    sigemptyset(&temp);
    sigaddset(&temp, SIGUSR2); /* the temporary mask: SIGUSR1 open, SIGUSR2 blocked */

    int p[2], ready[2];
    pipe(p);
    pipe(ready);
    write(ready[1], "x", 1);
    struct timespec second = {1, 0};
    struct pollfd idle = {p[0], POLLIN, 0}, rd = {ready[0], POLLIN, 0};

    raise(SIGUSR1);
    after("ppoll interrupted", ppoll(&idle, 1, &second, &temp));
    raise(SIGUSR1);
    after("ppoll ready", ppoll(&rd, 1, &second, &temp));
    after("ppoll no mask", ppoll(&rd, 1, &second, NULL));
    after("ppoll bad size", syscall(SYS_ppoll, &rd, 1, &second, &temp, 4));
    after("ppoll bad mask", syscall(SYS_ppoll, &rd, 1, &second, (void *)8, 8));
    sigprocmask(SIG_SETMASK, &temp, NULL);
    sigprocmask(SIG_SETMASK, &block, NULL); /* drops nothing: SIGUSR1 still pending */

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    after("pselect interrupted", pselect(p[0] + 1, &rs, NULL, NULL, &second, &temp));
    struct { const sigset_t *ss; size_t len; } arg = {&temp, 4};
    FD_ZERO(&rs);
    FD_SET(ready[0], &rs);
    struct timespec t2 = second;
    after("pselect bad size", syscall(SYS_pselect6, ready[0] + 1, &rs, NULL, NULL, &t2, &arg));

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out[2];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    raise(SIGUSR1);
    after("epoll_pwait interrupted", epoll_pwait(ep, out, 2, 1000, &temp));
    after("epoll_pwait bad size", syscall(SYS_epoll_pwait, ep, out, 2, 1000, &temp, 4));
    raise(SIGUSR1);
    after("epoll_pwait2 interrupted", syscall(SYS_epoll_pwait2, ep, out, 2, &second, &temp, 8));
    return 0;
}
