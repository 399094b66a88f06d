/* Directory notification (fcntl F_NOTIFY) in a directory under argv[1]: the F_SETSIG signal with
 * si_code POLL_MSG and si_fd, or SIGIO; one-shot and DN_MULTISHOT marks, masks adding up, removal
 * with 0, F_SETOWN taken by F_NOTIFY, ENOTDIR for a file, F_SETSIG range. */
#include "probe.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

static volatile int rt_count, rt_code, rt_fd, io_count;

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    rt_count++;
    rt_code = si->si_code;
    rt_fd = si->si_fd;
}

static void on_io(int sig) { (void)sig; io_count++; }

static void report(const char *what, int fd)
{
    SHOW("%s: rt %d (code %d fd-ok %d) sigio %d", what, rt_count, rt_code, rt_fd == fd, io_count);
    rt_count = rt_code = io_count = 0;
    rt_fd = -1;
}

int main(int argc, char **argv)
{
    char dir[256], sub[300], file[300], other[300];
    snprintf(dir, sizeof dir, "%s/dnotify-%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(other, sizeof other, "%s/g", dir);
    mkdir(dir, 0755);
    mkdir(sub, 0755);
    struct sigaction rt = {.sa_sigaction = on_rt, .sa_flags = SA_SIGINFO};
    sigaction(SIGRTMIN + 1, &rt, NULL);
    signal(SIGIO, on_io);

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int ffd = open(sub, O_RDONLY | O_DIRECTORY);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    int regular = open(file, O_RDONLY);
    CHECK(fcntl(regular, F_NOTIFY, DN_CREATE));
    CHECK(fcntl(dfd, F_SETSIG, 65));
    CHECK(fcntl(dfd, F_SETSIG, SIGRTMIN + 1));
    SHOW("F_GETSIG is SIGRTMIN+1: %d", fcntl(dfd, F_GETSIG) == SIGRTMIN + 1);
    CHECK(fcntl(dfd, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
    SHOW("F_GETOWN is the caller: %d", fcntl(dfd, F_GETOWN) == getpid());
    report("after setting", dfd);

    close(open(other, O_CREAT | O_WRONLY, 0644));
    report("create", dfd);
    close(open(other, O_WRONLY));
    report("open only", dfd);
    int w = open(file, O_WRONLY);
    write(w, "x", 1);
    report("write without DN_MODIFY", dfd);
    CHECK(fcntl(dfd, F_NOTIFY, DN_MODIFY | DN_MULTISHOT));
    write(w, "x", 1);
    report("write after adding DN_MODIFY", dfd);
    unlink(other);
    report("unlink without DN_DELETE", dfd);
    close(open(other, O_CREAT | O_WRONLY, 0644));
    report("create again (masks add up)", dfd);
    CHECK(fcntl(dfd, F_NOTIFY, 0));
    close(open(other, O_CREAT | O_WRONLY, 0644));
    write(w, "x", 1);
    report("after removing", dfd);

    /* One-shot with SIGIO. */
    CHECK(fcntl(dfd, F_NOTIFY, DN_DELETE | DN_RENAME));
    unlink(other);
    report("one-shot delete", dfd);
    close(open(other, O_CREAT | O_WRONLY, 0644));
    unlink(other);
    report("second delete", dfd);
    CHECK(fcntl(ffd, F_NOTIFY, DN_ATTRIB | DN_MULTISHOT));
    chmod(sub, 0700);
    report("chmod of the watched directory itself", ffd);

    /* F_SETOWN / F_GETOWN(_EX) (glibc's F_GETOWN is F_GETOWN_EX underneath). */
    CHECK(fcntl(regular, F_SETOWN, -getpgrp()));
    SHOW("owner is the process group: %d", fcntl(regular, F_GETOWN) == -getpgrp());
    struct f_owner_ex ex = {F_OWNER_TID, getpid()};
    CHECK(fcntl(regular, F_SETOWN_EX, &ex));
    memset(&ex, 0, sizeof ex);
    CHECK(fcntl(regular, F_GETOWN_EX, &ex));
    SHOW("owner ex: type %d self %d", ex.type, ex.pid == getpid());
    ex.type = 7;
    CHECK(fcntl(regular, F_SETOWN_EX, &ex));
    CHECK(fcntl(regular, F_SETOWN, 999999));
    CHECK(fcntl(regular, F_SETOWN, -2147483647 - 1));
    CHECK(fcntl(regular, F_SETOWN, 0));
    CHECK(fcntl(regular, F_GETOWN));

    close(w);
    close(regular);
    close(dfd);
    close(ffd);
    unlink(file);
    rmdir(sub);
    CHECK(rmdir(dir));
    return 0;
}
