/* inotify: argument errors, events from file operations in DIR (argv[1]), reading, FIONREAD, poll. */
#include "probe.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>

static int ifd;
static char dir[256];
static int wd_dir, wd_file;

static const char *names[] = {"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE", "OPEN", "MOVED_FROM",
                              "MOVED_TO", "CREATE", "DELETE", "DELETE_SELF", "MOVE_SELF"};

/* Prints every queued event: which watch, mask bits by name, the name; cookies as "same as previous". */
static void drain(const char *step)
{
    char buf[4096] __attribute__((aligned(8)));
    static unsigned last_cookie;
    SHOW("-- %s", step);
    for (;;) {
        ssize_t n = read(ifd, buf, sizeof buf);
        if (n <= 0) {
            if (errno != EAGAIN) SHOW("read: %zd %s", n, strerrorname_np(errno));
            return;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char bits[256] = "";
            for (int i = 0; i < 12; i++)
                if (e->mask & (1u << i)) { strcat(bits, names[i]); strcat(bits, " "); }
            if (e->mask & IN_ISDIR) strcat(bits, "ISDIR ");
            if (e->mask & IN_IGNORED) strcat(bits, "IGNORED ");
            if (e->mask & IN_Q_OVERFLOW) strcat(bits, "OVERFLOW ");
            const char *who = e->wd == wd_dir ? "dir" : e->wd == wd_file ? "file" : "other";
            SHOW("%s %s[%s] len%%16=%u cookie %s", who, bits, e->len ? e->name : "", e->len % 16,
                 e->cookie == 0 ? "0" : e->cookie == last_cookie ? "same" : "new");
            if (e->cookie) last_cookie = e->cookie;
            p += sizeof *e + e->len;
        }
    }
}

static char *at(const char *name)
{
    static char paths[4][300];
    static int i;
    i = (i + 1) % 4;
    snprintf(paths[i], sizeof paths[i], "%s/%s", dir, name);
    return paths[i];
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s/watched", argc > 1 ? argv[1] : "/tmp");
    mkdir(dir, 0755);
    int p[2];
    pipe(p);

    CHECK(inotify_init1(0x1));
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    SHOW("init ok %d cloexec %d nonblock %d", ifd >= 0, fcntl(ifd, F_GETFD) & FD_CLOEXEC, (fcntl(ifd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK(inotify_add_watch(ifd, dir, 0));
    CHECK(inotify_add_watch(ifd, dir, 0x00080000));
    CHECK(inotify_add_watch(ifd, dir, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    CHECK(inotify_add_watch(999, dir, IN_MODIFY));
    CHECK(inotify_add_watch(p[0], dir, IN_MODIFY));
    CHECK(inotify_add_watch(ifd, at("missing"), IN_MODIFY));
    CHECK(inotify_add_watch(ifd, (char *)8, IN_MODIFY));
    CHECK(inotify_rm_watch(ifd, 12345));
    CHECK(inotify_rm_watch(p[0], 1));
    char b[64];
    CHECK(read(ifd, b, sizeof b));

    wd_dir = inotify_add_watch(ifd, dir, IN_ALL_EVENTS);
    SHOW("dir wd positive %d", wd_dir > 0);
    CHECK(inotify_add_watch(ifd, dir, IN_ALL_EVENTS) == wd_dir);
    CHECK(inotify_add_watch(ifd, dir, IN_ALL_EVENTS | IN_MASK_CREATE));
    struct pollfd pf = {ifd, POLLIN, 0};
    CHECK(poll(&pf, 1, 0));

    int fd = open(at("a"), O_CREAT | O_WRONLY, 0644);
    CHECK(poll(&pf, 1, 0));
    int avail = -1;
    ioctl(ifd, FIONREAD, &avail);
    SHOW("FIONREAD %d", avail);
    CHECK(read(ifd, b, 8));
    write(fd, "hello", 5);
    write(fd, "hello", 5);
    close(fd);
    drain("create, write twice, close");

    wd_file = inotify_add_watch(ifd, at("a"), IN_ALL_EVENTS);
    SHOW("file wd differs %d", wd_file > 0 && wd_file != wd_dir);
    CHECK(inotify_add_watch(ifd, at("a"), IN_ONLYDIR | IN_ALL_EVENTS));
    fd = open(at("a"), O_RDONLY);
    read(fd, b, sizeof b);
    close(fd);
    drain("open, read, close (file and dir watches)");

    chmod(at("a"), 0600);
    truncate(at("a"), 2);
    struct timeval tv[2] = {{1, 0}, {2, 0}};
    utimes(at("a"), tv);
    drain("chmod, truncate, utimes");

    fd = open(at("a"), O_WRONLY | O_TRUNC);
    close(fd);
    drain("open O_TRUNC");

    link(at("a"), at("b"));
    drain("link");
    rename(at("b"), at("c"));
    drain("rename within dir");
    unlink(at("c"));
    drain("unlink one of two links");

    mkdir(at("sub"), 0755);
    rename(at("a"), at("sub/a2"));
    drain("mkdir, move file into subdir");
    symlink("target", at("sym"));
    mknod(at("fifo"), S_IFIFO | 0644, 0);
    unlink(at("sym"));
    unlink(at("fifo"));
    drain("symlink, mkfifo, unlinks");

    int wd_sub = inotify_add_watch(ifd, at("sub"), IN_DELETE_SELF | IN_ONESHOT | IN_CREATE);
    SHOW("sub wd %d", wd_sub > 0);
    unlink(at("sub/a2"));
    drain("unlink last link of watched file");
    rmdir(at("sub"));
    drain("rmdir watched subdir");

    CHECK(inotify_add_watch(ifd, dir, IN_CREATE | IN_ONESHOT));
    close(open(at("x"), O_CREAT | O_RDONLY, 0644));
    close(open(at("y"), O_CREAT | O_RDONLY, 0644));
    drain("one-shot dir watch");
    int wd_again = inotify_add_watch(ifd, dir, IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM);
    SHOW("new wd after one-shot is new %d", wd_again != wd_dir);
    wd_dir = wd_again;
    rename(at("x"), at("y"));
    unlink(at("y"));
    drain("rename over existing, unlink");
    CHECK(inotify_rm_watch(ifd, wd_dir));
    CHECK(inotify_rm_watch(ifd, wd_dir));
    drain("rm_watch");

    /* a watched directory moved and removed */
    mkdir(at("d1"), 0755);
    wd_file = inotify_add_watch(ifd, at("d1"), IN_ALL_EVENTS);
    wd_dir = inotify_add_watch(ifd, dir, IN_ALL_EVENTS);
    rename(at("d1"), at("d2"));
    chmod(at("d2"), 0700);
    rmdir(at("d2"));
    drain("directory rename, chmod, rmdir");
    inotify_rm_watch(ifd, wd_dir);
    drain("rm_watch again");

    /* blocking read with poll timeout */
    int ifd2 = inotify_init();
    inotify_add_watch(ifd2, dir, IN_CREATE);
    struct pollfd pf2 = {ifd2, POLLIN, 0};
    CHECK(poll(&pf2, 1, 10));
    close(open(at("z"), O_CREAT | O_RDONLY, 0644));
    CHECK(poll(&pf2, 1, 1000));
    char big[256] __attribute__((aligned(8)));
    CHECK(read(ifd2, big, sizeof big));
    unlink(at("z"));
    rmdir(dir);
    return 0;
}
