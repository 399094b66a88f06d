/* A control-socket client for the peer check: "ctlclient SOCKET UID" becomes UID (setgroups,
 * setgid, setuid; 0 stays root), connects and sends a Processes request in the control protocol
 * (4-byte little-endian length, then protobuf field 1 = 4). Prints "connect: ERRNO", "reply: N
 * bytes" or "closed without a reply". */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: ctlclient SOCKET UID\n"); return 2; }
    unsigned uid = (unsigned)atoi(argv[2]);
    if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)) { perror("setuid"); return 2; }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { printf("connect: %s\n", strerrorname_np(errno)); return 0; }
    unsigned char request[] = { 2, 0, 0, 0, 0x08, 0x04 };
    if (write(fd, request, sizeof request) < 0)
    {
        /* The server may close a refused peer before its request is written. */
        if (errno == EPIPE || errno == ECONNRESET) printf("closed without a reply\n");
        else printf("write: %s\n", strerrorname_np(errno));
        return 0;
    }
    unsigned char reply[4096];
    ssize_t total = 0, n;
    while ((n = read(fd, reply, sizeof reply)) > 0) total += n;
    if (total > 0) printf("reply: %zd bytes\n", total);
    else printf("closed without a reply\n");
    return 0;
}
