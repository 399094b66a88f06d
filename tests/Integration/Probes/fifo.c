/* FIFO opens (fifo(7)) in a directory argv[1]: a blocked open returns once a partner has opened,
 * even if the partner closed again at once (Linux counts partner opens); then the reader sees
 * EOF and the writer EPIPE. O_NONBLOCK rules and O_RDWR. */
#include "probe.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fifo-%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    signal(SIGPIPE, SIG_IGN);
    CHECK(mkfifo(path, 0600));
    CHECK(open(path, O_WRONLY | O_NONBLOCK));
    int rn = open(path, O_RDONLY | O_NONBLOCK);
    SHOW("nonblocking reader without a writer: %d", rn >= 0);
    close(rn);
    int rw = open(path, O_RDWR);
    SHOW("O_RDWR never waits: %d", rw >= 0);
    close(rw);

    /* A reader blocked in open; the writer opens and closes at once. */
    pid_t child = fork();
    if (child == 0) {
        int fd = open(path, O_RDONLY);
        char c;
        SHOW("reader open returned: %d, read %ld", fd >= 0, (long)read(fd, &c, 1));
        _exit(0);
    }
    probe_wait_sleeping(child);
    int w = open(path, O_WRONLY);
    close(w);
    waitpid(child, NULL, 0);

    /* A writer blocked in open; the reader opens and closes at once. */
    child = fork();
    if (child == 0) {
        int fd = open(path, O_WRONLY);
        SHOW("writer open returned: %d", fd >= 0);
        /* Whether a write now finds the reader still there races with its close, natively too. */
        _exit(0);
    }
    probe_wait_sleeping(child);
    int r = open(path, O_RDONLY);
    close(r);
    waitpid(child, NULL, 0);
    CHECK(unlink(path));
    return 0;
}
