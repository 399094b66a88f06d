/* epoll(7) edge-triggered entries and the temporary signal masks of ppoll(2), pselect(2) and
 * epoll_pwait(2): an EPOLLET entry is reported once per event (new data, new space), not while
 * the file stays ready as a level-triggered one is; EPOLLONESHOT waits for EPOLL_CTL_MOD; a mask
 * given to the wait lets a blocked signal interrupt it (EINTR, the handler runs) and is undone
 * afterwards, and a ready file wins over a pending signal. */
#include "probe.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

static volatile int handled;
static void on_usr1(int sig) { (void)sig; handled++; }

/* An epoll fd (numbers are not printed: the caller's open fds differ natively). */
static int new_epoll(void)
{
    int ep = epoll_create1(0);
    if (ep < 0) SHOW("epoll_create1: %s", strerrorname_np(errno));
    return ep;
}

static int wait0(int ep)
{
    struct epoll_event ev[4];
    return epoll_wait(ep, ev, 4, 0);
}

/* Shows two results in the order they were taken (C leaves argument order open). */
#define SHOW2(what1, expr1, what2, expr2) do { int r1_ = (expr1); int r2_ = (expr2); SHOW("%s %d %s %d", what1, r1_, what2, r2_); } while (0)

static int usr1_blocked(void)
{
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    return sigismember(&cur, SIGUSR1);
}

int main(void)
{
    int p[2];
    CHECK(pipe(p));
    int et = new_epoll();
    int lt = new_epoll();
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 1 };
    CHECK(epoll_ctl(et, EPOLL_CTL_ADD, p[0], &ev));
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(lt, EPOLL_CTL_ADD, p[0], &ev));
    SHOW2("empty: et", wait0(et), "lt", wait0(lt));
    CHECK(write(p[1], "ab", 2));
    SHOW2("after write: et", wait0(et), "lt", wait0(lt));
    SHOW2("again: et", wait0(et), "lt", wait0(lt));
    CHECK(write(p[1], "c", 1));
    SHOW2("after more data: et", wait0(et), "then", wait0(et));
    char buf[8];
    CHECK(read(p[0], buf, 1));
    SHOW2("after a partial read: et", wait0(et), "lt", wait0(lt));

    /* the write end: new space (a read) is an event, a write is not */
    int wet = new_epoll();
    ev.events = EPOLLOUT | EPOLLET;
    CHECK(epoll_ctl(wet, EPOLL_CTL_ADD, p[1], &ev));
    SHOW2("write end:", wait0(wet), "then", wait0(wet));
    CHECK(write(p[1], "d", 1));
    SHOW("write end after a write: %d", wait0(wet));
    CHECK(read(p[0], buf, 2));
    SHOW("write end after a read of a pipe with room: %d", wait0(wet));
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK));
    static char big[65536];
    long filled = 0, w;
    while ((w = write(p[1], big, sizeof big)) > 0) filled += w;
    SHOW("filled more than 60000: %d, write end %d", filled > 60000, wait0(wet));
    CHECK(read(p[0], big, 8192));
    SHOW("write end after a read of the full pipe: %d", wait0(wet));
    while (read(p[0], big, sizeof big) == sizeof big) {}
    CHECK(write(p[1], "cd", 2));

    /* EPOLL_CTL_MOD re-arms an edge-triggered entry whose file is still ready */
    ev.events = EPOLLIN | EPOLLET;
    CHECK(epoll_ctl(et, EPOLL_CTL_MOD, p[0], &ev));
    SHOW2("after MOD: et", wait0(et), "then", wait0(et));

    /* one-shot */
    int os = new_epoll();
    ev.events = EPOLLIN | EPOLLONESHOT;
    CHECK(epoll_ctl(os, EPOLL_CTL_ADD, p[0], &ev));
    SHOW2("oneshot:", wait0(os), "then", wait0(os));
    CHECK(epoll_ctl(os, EPOLL_CTL_MOD, p[0], &ev));
    SHOW("oneshot re-armed: %d", wait0(os));

    /* hang-up of the writer is an event for an edge-triggered reader */
    CHECK(read(p[0], buf, sizeof buf));
    SHOW("drained: et %d", wait0(et));
    CHECK(close(p[1]));
    struct epoll_event got[2];
    int n = epoll_wait(et, got, 2, 0);
    SHOW("writer closed: et %d events 0x%x", n, n > 0 ? got[0].events : 0);

    /* temporary signal masks */
    struct sigaction sa = { .sa_handler = on_usr1 };
    CHECK(sigaction(SIGUSR1, &sa, NULL));
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &block, NULL));
    int q[2];
    CHECK(pipe(q));
    struct pollfd pfd = { .fd = q[0], .events = POLLIN };

    CHECK(raise(SIGUSR1));
    CHECK(ppoll(&pfd, 1, NULL, &empty));
    SHOW("ppoll: handled %d, blocked again %d", handled, usr1_blocked());

    CHECK(raise(SIGUSR1));
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(q[0], &rs);
    CHECK(pselect(q[0] + 1, &rs, NULL, NULL, NULL, &empty));
    SHOW("pselect: handled %d, blocked again %d", handled, usr1_blocked());

    int ep2 = new_epoll();
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(ep2, EPOLL_CTL_ADD, q[0], &ev));
    CHECK(raise(SIGUSR1));
    CHECK(epoll_pwait(ep2, got, 2, -1, &empty));
    SHOW("epoll_pwait: handled %d, blocked again %d", handled, usr1_blocked());

    /* a ready file wins: the signal stays pending under the restored mask */
    CHECK(write(q[1], "x", 1));
    CHECK(raise(SIGUSR1));
    CHECK(ppoll(&pfd, 1, NULL, &empty));
    sigset_t pend;
    sigpending(&pend);
    SHOW("ready ppoll: handled %d, still pending %d", handled, sigismember(&pend, SIGUSR1));
    CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL));
    SHOW("unblocked: handled %d", handled);

    /* a bad mask size */
    CHECK(syscall(SYS_ppoll, &pfd, 1, NULL, &empty, 4));
    return 0;
}
