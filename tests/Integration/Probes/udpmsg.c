/* recvmsg/sendmsg on UDP sockets over loopback: MSG_TRUNC (flag and return value), control
 * messages (IP_TTL, IP_PKTINFO, IPV6_HOPLIMIT, SO_TIMESTAMP), MSG_CTRUNC, sending IPV6_HOPLIMIT. */
#include "probe.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int udp_pair(int family, int *rx, int *tx)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    *rx = socket(family, SOCK_DGRAM, 0);
    *tx = socket(family, SOCK_DGRAM, 0);
    if (bind(*rx, (struct sockaddr *)&ss, len) != 0) return -1;
    getsockname(*rx, (struct sockaddr *)&ss, &len);
    return connect(*tx, (struct sockaddr *)&ss, len);
}

static void show_cmsgs(struct msghdr *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
            SHOW("  IP_TTL %d", *(int *)CMSG_DATA(c));
        else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo *p = (struct in_pktinfo *)CMSG_DATA(c);
            SHOW("  IP_PKTINFO ifindex %d dst %s", p->ipi_ifindex, inet_ntoa(p->ipi_addr));
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
            SHOW("  IPV6_HOPLIMIT %d", *(int *)CMSG_DATA(c));
        else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP)
            SHOW("  SO_TIMESTAMP len %zu", (size_t)c->cmsg_len);
        else
            SHOW("  cmsg level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
    }
}

static void receive(const char *what, int fd, size_t buflen, size_t ctllen, int flags)
{
    char buf[64], ctl[256];
    struct iovec iov = {buf, buflen};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctllen ? ctl : NULL, .msg_controllen = ctllen};
    long n = recvmsg(fd, &m, flags);
    SHOW("%s: %ld flags%s%s controllen %zu", what, n, m.msg_flags & MSG_TRUNC ? " TRUNC" : "",
         m.msg_flags & MSG_CTRUNC ? " CTRUNC" : "", (size_t)m.msg_controllen);
    if (n >= 0) show_cmsgs(&m);
}

int main(void)
{
    int rx, tx, on = 1;
    CHECK(udp_pair(AF_INET, &rx, &tx));
    send(tx, "0123456789", 10, 0);
    receive("short buffer", rx, 4, 0, 0);
    send(tx, "0123456789", 10, 0);
    receive("MSG_TRUNC asks for the length", rx, 4, 0, MSG_TRUNC);
    send(tx, "0123456789", 10, 0);
    char b[4];
    CHECK(recv(rx, b, sizeof b, MSG_TRUNC));

    CHECK(setsockopt(rx, IPPROTO_IP, IP_RECVTTL, &on, sizeof on));
    CHECK(setsockopt(rx, IPPROTO_IP, IP_PKTINFO, &on, sizeof on));
    send(tx, "x", 1, 0);
    receive("ttl and pktinfo", rx, 64, 256, 0);
    send(tx, "x", 1, 0);
    receive("control too small", rx, 64, CMSG_SPACE(sizeof(int)), 0);
    send(tx, "x", 1, 0);
    receive("no control buffer", rx, 64, 0, 0);
    close(rx);
    close(tx);

    CHECK(udp_pair(AF_INET, &rx, &tx));
    CHECK(setsockopt(rx, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof on));
    send(tx, "t", 1, 0);
    receive("timestamp", rx, 64, 256, 0);
    close(rx);
    close(tx);

    if (udp_pair(AF_INET6, &rx, &tx) != 0) {
        SHOW("no IPv6 loopback");
        return 0;
    }
    CHECK(setsockopt(rx, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on));
    send(tx, "6", 1, 0);
    receive("v6 default hop limit", rx, 64, 256, 0);
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {"7", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_HOPLIMIT;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(c) = 7;
    CHECK(sendmsg(tx, &m, 0));
    receive("v6 hop limit sent as 7", rx, 64, 256, 0);
    *(int *)CMSG_DATA(c) = 300;
    CHECK(sendmsg(tx, &m, 0));
    return 0;
}
