/* RLIMIT_NOFILE: the limit a process starts with bounds its fds (EMFILE at the limit, EBADF for
 * dup2 beyond it, EINVAL for F_DUPFD at it), and prlimit on another process bounds that one's. */
#include "probe.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int fill(void)
{
    int last = -1, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) last = fd;
    SHOW("open at the limit: %s", strerrorname_np(errno));
    return last;
}

int main(void)
{
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    if (r.rlim_cur > 4096) {
        r.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    getrlimit(RLIMIT_NOFILE, &r);
    int limit = (int)r.rlim_cur;

    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(p[0], &c, 1);
        struct rlimit cr;
        getrlimit(RLIMIT_NOFILE, &cr);
        SHOW("child limit set by parent: %ld", (long)cr.rlim_cur);
        int last = fill();
        SHOW("child last fd %d", last);
        _exit(0);
    }
    struct rlimit small = {64, r.rlim_max};
    CHECK(prlimit(child, RLIMIT_NOFILE, &small, NULL));
    write(p[1], "x", 1);
    waitpid(child, NULL, 0);

    int last = fill();
    SHOW("last fd is limit - 1: %d", last == limit - 1);
    CHECK(dup2(0, limit) == -1 ? -1 : 0);
    CHECK(fcntl(0, F_DUPFD, limit));
    CHECK(fcntl(0, F_DUPFD, 3));
    close(10);
    SHOW("freed fd reused: %d", open("/dev/null", O_RDONLY) == 10);
    return 0;
}
