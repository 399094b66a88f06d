/* SCM_RIGHTS in flight across a checkpoint: over a socketpair (fds 3, 4) fd 3 sends, and nobody
 * receives before the checkpoint, the read end of a pipe holding bytes, a file of the root opened
 * at an offset, one end of a second socketpair with a message queued for it (whose own ends are
 * then closed here but for the other end), and fd 1 (stdout) in a second message. Prints "ready",
 * waits for SIGUSR1, then receives and uses each file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int s) { (void)s; go = 1; }

static int send_fds(int sock, const char *text, int *fds, int n) {
    char control[CMSG_SPACE(8 * sizeof(int))];
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = CMSG_SPACE(n * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    return sendmsg(sock, &msg, 0) == (ssize_t)strlen(text) ? 0 : -1;
}

static int recv_fds(int sock, char *text, int *fds) {
    char control[CMSG_SPACE(8 * sizeof(int))];
    struct iovec iov = {.iov_base = text, .iov_len = 63};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t r = recvmsg(sock, &msg, 0);
    if (r < 0) return -1;
    text[r] = 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS) return 0;
    int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    memcpy(fds, CMSG_DATA(c), n * sizeof(int));
    return n;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    int sv[2], inner[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, inner) != 0 || pipe(p) != 0) return 2;
    if (write(p[1], "bytes in the pipe", 17) != 17) return 3;
    int file = open("/bin/busybox", O_RDONLY);
    if (file < 0 || lseek(file, 1234, SEEK_SET) != 1234) return 4;
    if (write(inner[0], "queued inside", 13) != 13) return 5;
    int passed[3] = {p[0], file, inner[1]};
    if (send_fds(sv[0], "three files", passed, 3) != 0) return 6;
    int out = 1;
    if (send_fds(sv[0], "stdout", &out, 1) != 0) return 7;
    close(p[0]);
    close(file);
    close(inner[1]);
    printf("ready\n");
    fflush(stdout);
    while (!go) pause();

    char text[64], buf[64];
    int fds[8];
    int n = recv_fds(sv[1], text, fds);
    printf("message \"%s\" with %d files\n", text, n);
    if (n != 3) return 8;
    ssize_t r = read(fds[0], buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    printf("pipe: \"%s\"\n", buf);
    close(p[1]);
    printf("pipe at EOF: %zd\n", read(fds[0], buf, 1));
    printf("file offset %ld\n", (long)lseek(fds[1], 0, SEEK_CUR));
    r = read(fds[2], buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    printf("inner socket read \"%s\"\n", buf);
    if (write(fds[2], "answer", 6) != 6) return 9;
    r = read(inner[0], buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    printf("its peer read \"%s\"\n", buf);
    n = recv_fds(sv[1], text, fds);
    printf("message \"%s\" with %d files\n", text, n);
    fflush(stdout);
    if (n == 1) dprintf(fds[0], "written through the passed stdout\n");
    return 0;
}
