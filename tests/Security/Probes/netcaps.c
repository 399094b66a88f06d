/* Network operations that need a capability (raw/packet/ping sockets, privileged ports,
 * privileged socket options, rtnetlink changes). Prints one line per attempt: "ok" or the errno
 * name; for rtnetlink requests the error of the kernel's acknowledgement. Identical natively and
 * in runsc-net for the same uid and capabilities. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void result(const char *what, int r)
{
    printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
    fflush(stdout);
}

static void sock(const char *what, int family, int type, int protocol)
{
    int fd = socket(family, type, protocol);
    result(what, fd);
    if (fd >= 0) close(fd);
}

static void opt(const char *what, int family, int type, int level, int name, const void *v, socklen_t len)
{
    int fd = socket(family, type, 0);
    result(what, fd < 0 ? -1 : setsockopt(fd, level, name, v, len));
    if (fd >= 0) close(fd);
}

static void bind_port(const char *what, int family, int port)
{
    int fd = socket(family, SOCK_STREAM, 0), r;
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        r = bind(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        r = bind(fd, (struct sockaddr *)&a, sizeof a);
    }
    result(what, r);
    close(fd);
}

/* One rtnetlink request with NLM_F_ACK; prints the acknowledgement's error. */
static void rtnl(const char *what, int type, int flags, const void *payload, int len)
{
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct { struct nlmsghdr h; char data[256]; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(len);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    req.h.nlmsg_seq = 42;
    memcpy(req.data, payload, len);
    if (send(fd, &req, req.h.nlmsg_len, 0) < 0) { result(what, -1); close(fd); return; }
    char buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) { result(what, -1); break; }
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (h->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *e = NLMSG_DATA(h);
            printf("%s: ack %s seq %u echoed type %d\n", what, e->error ? strerrorname_np(-e->error) : "0",
                   h->nlmsg_seq, e->msg.nlmsg_type);
            break;
        }
        if (h->nlmsg_type == NLMSG_DONE) { printf("%s: done\n", what); break; }
    }
    fflush(stdout);
    close(fd);
}

int main(void)
{
    sock("raw4", AF_INET, SOCK_RAW, IPPROTO_ICMP);
    sock("raw6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    sock("raw4 protocol 0", AF_INET, SOCK_RAW, 0);
    {
        /* The Sentry has no packet sockets: only whether the capability check refused it counts. */
        int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        printf("packet: %s\n", fd < 0 && errno == EPERM ? "EPERM" : "not refused for privilege");
        if (fd >= 0) close(fd);
    }
    bind_port("bind tcp4 port 80", AF_INET, 80);
    bind_port("bind tcp6 port 80", AF_INET6, 80);
    bind_port("bind tcp4 port 0", AF_INET, 0);
    bind_port("bind tcp4 port 4242", AF_INET, 4242);
    int one = 1, seven = 7, three = 3, big = 1 << 20;
    opt("IP_TRANSPARENT", AF_INET, SOCK_STREAM, SOL_IP, IP_TRANSPARENT, &one, sizeof one);
    opt("IPV6_TRANSPARENT", AF_INET6, SOCK_STREAM, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
    opt("SO_MARK", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_MARK, &one, sizeof one);
    opt("SO_PRIORITY 7", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_PRIORITY, &seven, sizeof seven);
    opt("SO_PRIORITY 3", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_PRIORITY, &three, sizeof three);
    opt("SO_RCVBUFFORCE", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    opt("SO_SNDBUFFORCE", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    opt("SO_DEBUG", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_DEBUG, &one, sizeof one);
    opt("TCP_REPAIR", AF_INET, SOCK_STREAM, SOL_TCP, TCP_REPAIR, &one, sizeof one);
    {
        unsigned char hop[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };   /* next header, length 0, PadN of 4 */
        opt("IPV6_HOPOPTS", AF_INET6, SOCK_DGRAM, SOL_IPV6, IPV6_HOPOPTS, hop, sizeof hop);
    }
    {
        struct sock_filter accept_all = BPF_STMT(BPF_RET | BPF_K, 0xffff);
        struct sock_fprog prog = { .len = 1, .filter = &accept_all };
        opt("SO_ATTACH_FILTER", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
        prog.filter = (struct sock_filter *)8;
        opt("SO_ATTACH_FILTER bad pointer", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    }
    {
        int group = RTNLGRP_IPV4_MROUTE_R;
        opt("NETLINK_ADD_MEMBERSHIP mroute", AF_NETLINK, SOCK_RAW, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group);
        group = RTNLGRP_LINK;
        opt("NETLINK_ADD_MEMBERSHIP link", AF_NETLINK, SOCK_RAW, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group);
    }
    {
        struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
        rtnl("RTM_GETLINK dump", RTM_GETLINK, NLM_F_DUMP, &link, sizeof link);
        /* ip addr add 127.0.0.2/32 dev lo */
        struct { struct ifaddrmsg a; struct rtattr ra; struct in_addr ip; } addr = {
            .a = { .ifa_family = AF_INET, .ifa_prefixlen = 32, .ifa_index = 1 },
            .ra = { .rta_len = RTA_LENGTH(4), .rta_type = IFA_LOCAL },
        };
        inet_pton(AF_INET, "127.0.0.2", &addr.ip);
        rtnl("RTM_NEWADDR", RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &addr, sizeof addr);
        struct ifinfomsg down = { .ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_change = 0 };
        rtnl("RTM_SETLINK", RTM_SETLINK, 0, &down, sizeof down);
        struct rtmsg route = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_STATIC,
                               .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
        rtnl("RTM_DELROUTE", RTM_DELROUTE, 0, &route, sizeof route);
    }
    return 0;
}
