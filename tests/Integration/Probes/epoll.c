/* epoll: level-triggered and edge-triggered (EPOLLET) reports on pipes, socketpairs and eventfds,
 * EPOLLONESHOT, EPOLL_CTL_MOD re-arming, epoll_ctl errors. */
#include "probe.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* Waits 0 ms and prints what was reported, by tag (data.u32), in tag order. */
static void report(const char *what, int ep)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, 0);
    unsigned seen[8] = {0};
    for (int i = 0; i < n; i++)
        if (ev[i].data.u32 < 8) seen[ev[i].data.u32] = ev[i].events;
    printf("%s: %d", what, n);
    for (int t = 0; t < 8; t++)
        if (seen[t]) printf(" [%d]%s%s%s%s", t, seen[t] & EPOLLIN ? " IN" : "", seen[t] & EPOLLOUT ? " OUT" : "",
                            seen[t] & EPOLLHUP ? " HUP" : "", seen[t] & EPOLLRDHUP ? " RDHUP" : "");
    printf("\n");
    fflush(stdout);
}

static void add(int ep, int fd, unsigned events, unsigned tag)
{
    struct epoll_event e = {.events = events, .data.u32 = tag};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
}

int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int p[2], s[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    char buf[16];

    /* Level-triggered: reported as long as the condition holds. */
    add(ep, p[0], EPOLLIN, 0);
    report("lt empty", ep);
    write(p[1], "ab", 2);
    report("lt data", ep);
    report("lt data again", ep);
    read(p[0], buf, 2);
    report("lt drained", ep);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));

    /* Edge-triggered: once per edge. */
    add(ep, p[0], EPOLLIN | EPOLLET, 0);
    report("et empty", ep);
    write(p[1], "a", 1);
    report("et first write", ep);
    report("et no new data", ep);
    write(p[1], "b", 1);
    report("et second write", ep);
    read(p[0], buf, sizeof buf);
    report("et drained", ep);

    /* Sockets with IN|OUT|ET: OUT once, then both ends report after each send. */
    add(ep, s[0], EPOLLIN | EPOLLOUT | EPOLLET, 1);
    add(ep, s[1], EPOLLIN | EPOLLOUT | EPOLLET, 2);
    report("sock writable", ep);
    report("sock nothing new", ep);
    send(s[0], "x", 1, 0);
    send(s[1], "y", 1, 0);
    report("sock both sent", ep);
    report("sock nothing new again", ep);
    recv(s[0], buf, sizeof buf, 0);
    recv(s[1], buf, sizeof buf, 0);

    /* EPOLL_CTL_MOD re-arms an edge-triggered entry whose condition still holds. */
    struct epoll_event e = {.events = EPOLLOUT | EPOLLET, .data.u32 = 1};
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s[0], &e));
    report("sock mod", ep);
    report("sock after mod", ep);

    /* Peer close: an edge with IN and RDHUP. */
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s[0], NULL));
    e.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    e.data.u32 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s[1], &e));
    report("sock before close", ep);
    report("sock quiet", ep);
    close(s[0]);
    report("sock peer closed", ep);
    report("sock after close", ep);

    /* EPOLLONESHOT: one report, then nothing until MOD. */
    int efd = eventfd(1, EFD_NONBLOCK);
    add(ep, efd, EPOLLIN | EPOLLONESHOT, 3);
    report("oneshot", ep);
    report("oneshot disabled", ep);
    e.events = EPOLLIN | EPOLLONESHOT;
    e.data.u32 = 3;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &e));
    report("oneshot rearmed", ep);

    /* eventfd edge-triggered: each write is an edge even when already readable. */
    int efd2 = eventfd(0, EFD_NONBLOCK);
    add(ep, efd2, EPOLLIN | EPOLLET, 4);
    report("eventfd et empty", ep);
    eventfd_write(efd2, 1);
    report("eventfd et write", ep);
    report("eventfd et quiet", ep);
    eventfd_write(efd2, 1);
    report("eventfd et write again", ep);

    /* Errors. */
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e));
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e));
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
    CHECK(epoll_ctl(ep, 99, efd, &e));
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e));
    CHECK(epoll_ctl(efd, EPOLL_CTL_ADD, p[0], &e));
    struct epoll_event out[1];
    CHECK(epoll_wait(ep, out, 0, 0));
    CHECK(epoll_wait(efd, out, 1, 0));
    return 0;
}
