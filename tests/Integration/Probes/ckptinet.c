/* Checkpoint/restore probe for host (inet) sockets: a TCP listener on 127.0.0.1:7071 (SO_REUSEADDR,
 * TCP_NODELAY, backlog 16) watched by epoll, an IPv6 listener on [::]:7073 with IPV6_V6ONLY, a UDP
 * socket bound to 127.0.0.1:7072, a UDP socket connected to it and a connected TCP pair; "ready",
 * SIGUSR1, then (argv[1] "rst") the accepted end is reset (SO_LINGER 0 + close) and the client
 * end prints what poll/read/write/SO_ERROR give, as after a peer's RST; then a new connection to
 * the listener through epoll, and a datagram over the connected UDP socket. After a restore the
 * connected pair comes back reset already: its lines match an uninterrupted run's reset ones. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

static struct sockaddr_in addr4(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

static int opt(int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    return getsockopt(fd, level, name, &v, &l) == 0 ? v : -errno;
}

static void result(const char *what, long r) {
    printf("%s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "-");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = addr4(7071), u = addr4(7072);
    if (bind(l, (void *)&a, sizeof a) != 0 || listen(l, 16) != 0) return 2;
    int l6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(7073), .sin6_addr = IN6ADDR_ANY_INIT};
    int v6 = bind(l6, (void *)&a6, sizeof a6) == 0 && listen(l6, 4) == 0;
    int us = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(us, (void *)&u, sizeof u) != 0) return 3;
    int uc = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(uc, (void *)&u, sizeof u) != 0) return 4;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (void *)&a, sizeof a) != 0) return 5;
    int s = -1;
    for (int i = 0; i < 100 && s < 0; i++, usleep(10000)) s = accept(l, 0, 0);
    if (s < 0) return 6;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 71};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    ev.data.u64 = 72;
    epoll_ctl(ep, EPOLL_CTL_ADD, us, &ev);
    printf("ready v6 %d\n", v6);
    fflush(stdout);
    while (!go) pause();

    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    usleep(100000);
    char b[16];
    struct pollfd p = {c, POLLIN | POLLOUT | POLLRDHUP, 0};
    result("poll", poll(&p, 1, 0));
    printf("revents %#x\n", p.revents);
    result("read", read(c, b, sizeof b));
    result("read", read(c, b, sizeof b));
    p.revents = 0;
    poll(&p, 1, 0);
    printf("revents %#x\n", p.revents);
    result("write", write(c, "x", 1));
    result("send", send(c, "x", 1, MSG_NOSIGNAL));
    printf("so_error %d\n", opt(c, SOL_SOCKET, SO_ERROR));
    struct sockaddr_in pa;
    socklen_t pl = sizeof pa;
    result("getpeername", getpeername(c, (void *)&pa, &pl));
    result("shutdown", shutdown(c, SHUT_RDWR));
    printf("options reuseaddr %d nodelay %d acceptconn %d v6only %d\n", opt(l, SOL_SOCKET, SO_REUSEADDR),
           opt(l, IPPROTO_TCP, TCP_NODELAY), opt(l, SOL_SOCKET, SO_ACCEPTCONN), v6 ? opt(l6, IPPROTO_IPV6, IPV6_V6ONLY) : -1);

    int n = socket(AF_INET, SOCK_STREAM, 0);
    result("connect", connect(n, (void *)&a, sizeof a));
    struct epoll_event got[4];
    int k = epoll_wait(ep, got, 4, 5000);
    printf("epoll %d data %lu\n", k, k > 0 ? (unsigned long)got[0].data.u64 : 0UL);
    int acc = accept(l, 0, 0);
    result("write ping", write(n, "ping", 4));
    memset(b, 0, sizeof b);
    result("read", read(acc, b, sizeof b));
    printf("got %s\n", b);
    result("udp send", send(uc, "dgram", 5, 0));
    k = epoll_wait(ep, got, 4, 5000);
    printf("epoll %d data %lu\n", k, k > 0 ? (unsigned long)got[0].data.u64 : 0UL);
    memset(b, 0, sizeof b);
    result("udp recv", recv(us, b, sizeof b, 0));
    printf("got %s\n", b);
    pl = sizeof pa;
    getpeername(uc, (void *)&pa, &pl);
    printf("udp peer port %d\n", ntohs(pa.sin_port));
    printf("done\n");
    fflush(stdout);
    return 0;
}
