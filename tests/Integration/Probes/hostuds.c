/* hostuds PATH: connect(2) an AF_UNIX stream socket to PATH (a host socket bind-mounted into the
 * container), send "ping" and print the reply; also what getpeername reports and what a sendto
 * with an address does on the connected socket. Used by tests/Security/HostUnixSocketTests.cs:
 * without --host-uds open the connect must fail with ECONNREFUSED (as runsc's). */
#include "probe.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (CHECK(connect(s, (struct sockaddr *)&a, sizeof a)) != 0) return 0;
    struct sockaddr_un peer;
    socklen_t len = sizeof peer;
    if (getpeername(s, (struct sockaddr *)&peer, &len) == 0)
        SHOW("peer: %s", peer.sun_path);
    CHECK(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
    CHECK(write(s, "ping", 4));
    char buf[16] = { 0 };
    long n = CHECK(read(s, buf, sizeof buf - 1));
    if (n > 0) SHOW("reply: %s", buf);
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a));
    return 0;
}
