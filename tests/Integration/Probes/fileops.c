/* File operations programs rely on, beyond open/read/write: advisory locks (flock, POSIX record
 * locks, OFD locks) between processes, fallocate, sparse files, copy_file_range/sendfile/splice/tee,
 * renameat2 flags and rename's errors, link counts, unlinked-but-open files, FIFOs, O_APPEND with
 * pwrite, F_GETFL flags, pipe sizes, FIONREAD and the errno of the usual mistakes.
 * argv[1]: a writable directory (empty). */
#include "probe.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <linux/fs.h>

static char dir[200];

static const char *at(const char *name)
{
    static char buf[4][300];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void make(const char *name, const char *content)
{
    int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (content) write(fd, content, strlen(content));
    close(fd);
}

/* Runs f in a child and waits for it; the child's lines come before the parent's next ones. */
static void in_child(void (*f)(void *), void *arg)
{
    pid_t c = fork();
    if (c == 0) {
        f(arg);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void child_flock(void *arg)
{
    int fd = open(at("locked"), O_RDONLY);
    CHECK(flock(fd, (long)arg | LOCK_NB));
}

static void child_posix_lock(void *arg)
{
    (void)arg;
    int fd = open(at("locked"), O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK(fcntl(fd, F_GETLK, &fl));
    SHOW("getlk type %s start %ld len %ld pid-is-parent %d", fl.l_type == F_WRLCK ? "WR" : fl.l_type == F_RDLCK ? "RD" : "UN",
         (long)fl.l_start, (long)fl.l_len, fl.l_pid == getppid());
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
    CHECK(fcntl(fd, F_SETLK, &fl));
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 1};
    CHECK(fcntl(fd, F_SETLK, &fl));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 5};
    CHECK(fcntl(fd, F_SETLK, &fl));
}

static void child_ofd_lock(void *arg)
{
    (void)arg;
    int fd = open(at("locked"), O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(fd, F_OFD_GETLK, &fl));
    SHOW("ofd getlk type %s pid %d", fl.l_type == F_WRLCK ? "WR" : fl.l_type == F_UNLCK ? "UN" : "RD", fl.l_pid);
    CHECK(fcntl(fd, F_OFD_SETLK, &fl));
}

static void locks(void)
{
    make("locked", "0123456789abcdefghijklmnopqrstuvwxyz");
    int fd = open(at("locked"), O_RDWR);
    /* flock: exclusive excludes, shared shares, the lock belongs to the open file */
    CHECK(flock(fd, LOCK_EX));
    in_child(child_flock, (void *)(long)LOCK_SH);
    CHECK(flock(fd, LOCK_SH));
    in_child(child_flock, (void *)(long)LOCK_SH);
    in_child(child_flock, (void *)(long)LOCK_EX);
    CHECK(flock(fd, LOCK_UN));
    in_child(child_flock, (void *)(long)LOCK_EX);
    CHECK(flock(fd, 99));

    /* POSIX record locks: per process, seen and refused by another one */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK(fcntl(fd, F_SETLK, &fl));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10};
    CHECK(fcntl(fd, F_SETLK, &fl));
    in_child(child_posix_lock, NULL);
    /* our own locks never conflict with us */
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(fd, F_GETLK, &fl));
    SHOW("own getlk type %s", fl.l_type == F_UNLCK ? "UN" : "locked");
    int ro = open(at("locked"), O_RDONLY);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    CHECK(fcntl(ro, F_SETLK, &fl));
    fl.l_whence = 7;
    CHECK(fcntl(fd, F_SETLK, &fl));
    /* closing any fd of the file drops the process's POSIX locks */
    close(ro);
    in_child(child_posix_lock, NULL);
    fl = (struct flock){.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(fd, F_SETLK, &fl));

    /* a blocked F_SETLKW waits for the holder */
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(fd, F_SETLK, &fl));
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        int cfd = open(at("locked"), O_RDWR);
        struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        long r = fcntl(cfd, F_SETLKW, &w);
        char got = 0;
        read(p[0], &got, 1); /* the parent wrote before unlocking */
        _exit(r == 0 && got == 'u' ? 0 : 1);
    }
    probe_wait_sleeping(c);
    write(p[1], "u", 1);
    fl.l_type = F_UNLCK;
    CHECK(fcntl(fd, F_SETLK, &fl));
    int st;
    waitpid(c, &st, 0);
    SHOW("waiter got the lock after the unlock: %d", WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* OFD locks belong to the open file description */
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(fd, F_OFD_SETLK, &fl));
    in_child(child_ofd_lock, NULL);
    fl.l_pid = 1;
    CHECK(fcntl(fd, F_OFD_SETLK, &fl));
    close(fd);
    in_child(child_ofd_lock, NULL);
}

static void space(void)
{
    int fd = open(at("falloc"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct stat st;
    CHECK(fallocate(fd, 0, 0, 1 << 20));
    fstat(fd, &st);
    SHOW("fallocate size %ld allocated %d", (long)st.st_size, st.st_blocks * 512 >= (1 << 20));
    CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2 << 20));
    fstat(fd, &st);
    SHOW("keep size %ld", (long)st.st_size);
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    CHECK(fallocate(fd, 0, -1, 10));
    CHECK(fallocate(fd, 0, 0, 0));
    CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0 ? 0 : -1);
    close(fd);
    int rfd = open(at("falloc"), O_RDONLY);
    CHECK(fallocate(rfd, 0, 0, 10));
    close(rfd);

    /* sparse: data at 0 and at 1 MiB */
    fd = open(at("sparse"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "a", 1);
    pwrite(fd, "b", 1, 1 << 20);
    fstat(fd, &st);
    SHOW("sparse size %ld", (long)st.st_size);
    CHECK(lseek(fd, 0, SEEK_DATA));
    long hole = lseek(fd, 0, SEEK_HOLE);
    SHOW("first hole in (0, 1 MiB]: %d", hole > 0 && hole <= (1 << 20));
    CHECK(lseek(fd, (1 << 20) + 1, SEEK_HOLE));
    CHECK(lseek(fd, (1 << 20) + 1, SEEK_DATA));
    CHECK(lseek(fd, 5 << 20, SEEK_DATA));
    CHECK(lseek(fd, -1, SEEK_SET));
    char z[4] = "xxx";
    CHECK(pread(fd, z, 3, 100));
    SHOW("hole reads zeros %d", z[0] == 0 && z[1] == 0 && z[2] == 0);
    /* truncate grows with zeros and shrinks */
    CHECK(ftruncate(fd, 10));
    CHECK(pread(fd, z, 3, 8));
    CHECK(ftruncate(fd, -1));
    CHECK(truncate(at("sparse"), 3));
    fstat(fd, &st);
    SHOW("after truncate %ld", (long)st.st_size);
    close(fd);
}

static void copies(void)
{
    make("src", "hello, copy world\n");
    int in = open(at("src"), O_RDONLY);
    int out = open(at("dst"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    loff_t off_in = 7, off_out = 0;
    CHECK(copy_file_range(in, &off_in, out, &off_out, 100, 0));
    SHOW("offsets %ld %ld file offset %ld", (long)off_in, (long)off_out, (long)lseek(in, 0, SEEK_CUR));
    CHECK(copy_file_range(in, NULL, out, NULL, 5, 0));
    CHECK(copy_file_range(in, NULL, out, NULL, 5, 1));
    char buf[64] = "";
    CHECK(pread(out, buf, sizeof buf - 1, 0));
    SHOW("dst [%s]", buf);

    off_t soff = 0;
    lseek(out, 0, SEEK_SET);
    CHECK(ftruncate(out, 0));
    CHECK(sendfile(out, in, &soff, 5));
    SHOW("sendfile offset %ld in-file offset %ld", (long)soff, (long)lseek(in, 0, SEEK_CUR));
    CHECK(sendfile(out, in, NULL, 100));
    int p[2];
    pipe(p);
    CHECK(sendfile(p[1], in, &soff, 4));
    CHECK(sendfile(in, p[0], NULL, 4));

    /* splice file -> pipe -> file, tee pipe -> pipe */
    loff_t so = 0;
    CHECK(splice(in, &so, p[1], NULL, 6, 0));
    int q[2];
    pipe(q);
    CHECK(tee(p[0], q[1], 100, 0));
    CHECK(splice(p[0], NULL, out, NULL, 100, 0));
    memset(buf, 0, sizeof buf);
    CHECK(read(q[0], buf, sizeof buf - 1));
    SHOW("tee copy [%s]", buf);
    CHECK(splice(in, NULL, out, NULL, 10, 0));
    CHECK(tee(p[0], out, 10, 0));
    close(in);
    close(out);
}

static void renames(void)
{
    make("r1", "one");
    make("r2", "two");
    mkdir(at("d1"), 0755);
    mkdir(at("d2"), 0755);
    make("d2/inner", "x");
    CHECK(renameat2(AT_FDCWD, at("r1"), AT_FDCWD, at("r2"), RENAME_NOREPLACE));
    CHECK(renameat2(AT_FDCWD, at("r1"), AT_FDCWD, at("r2"), RENAME_EXCHANGE));
    char buf[8] = "";
    int fd = open(at("r1"), O_RDONLY);
    read(fd, buf, 7);
    close(fd);
    SHOW("r1 now [%s]", buf);
    CHECK(renameat2(AT_FDCWD, at("r1"), AT_FDCWD, at("nothere"), RENAME_EXCHANGE));
    CHECK(renameat2(AT_FDCWD, at("r1"), AT_FDCWD, at("r2"), RENAME_EXCHANGE | RENAME_NOREPLACE));
    CHECK(rename(at("d1"), at("d2")));
    CHECK(rename(at("r1"), at("d1")));
    CHECK(rename(at("d1"), at("r1")));
    CHECK(rename(at("d1"), at("d1/sub")));
    CHECK(rename(at("r1"), at("r1")));
    CHECK(rename(at("d1"), at("d3")));
    CHECK(rename(at("nothere"), at("x")));
    CHECK(rename(at("r2"), at("nodir/x")));
    CHECK(rename(at("r2"), at("r1/x")));
    CHECK(rename(at("d3/."), at("d4")));
}

static void links(void)
{
    struct stat st;
    make("l1", "data");
    CHECK(link(at("l1"), at("l2")));
    stat(at("l1"), &st);
    SHOW("nlink %lu", (unsigned long)st.st_nlink);
    CHECK(link(at("l1"), at("l2")));
    CHECK(link(at("d3"), at("d5")));
    mkdir(at("nl"), 0755);
    mkdir(at("nl/a"), 0755);
    mkdir(at("nl/b"), 0755);
    stat(at("nl"), &st);
    SHOW("dir nlink %lu", (unsigned long)st.st_nlink);
    /* an unlinked file stays readable through its fd */
    int fd = open(at("l2"), O_RDWR);
    CHECK(unlink(at("l1")));
    CHECK(unlink(at("l2")));
    fstat(fd, &st);
    SHOW("open unlinked: nlink %lu", (unsigned long)st.st_nlink);
    char buf[8] = "";
    CHECK(pread(fd, buf, 4, 0));
    char proc[64], target[400] = "";
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    long n = readlink(proc, target, sizeof target - 1);
    SHOW("fd link ends with (deleted): %d", n > 10 && strcmp(target + n - 10, " (deleted)") == 0);
    close(fd);
    /* linkat of an open file */
    fd = open(at("lk"), O_CREAT | O_RDWR, 0600);
    CHECK(linkat(fd, "", AT_FDCWD, at("lk2"), AT_EMPTY_PATH));
    CHECK(linkat(AT_FDCWD, proc, AT_FDCWD, at("lk3"), AT_SYMLINK_FOLLOW) == 0 ? 0 : -1);
    close(fd);
}

static void mistakes(void)
{
    make("file", "content");
    symlink("loop2", at("loop1"));
    symlink("loop1", at("loop2"));
    symlink("file", at("sym"));
    CHECK(open(at("file"), O_RDONLY | O_DIRECTORY));
    CHECK(open(at("file"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    CHECK(open(at("sym"), O_RDONLY | O_NOFOLLOW));
    CHECK(open(at("sym"), O_PATH | O_NOFOLLOW) >= 0 ? 0 : -1);
    CHECK(open(at("nl"), O_WRONLY));
    CHECK(open(at("nl"), O_RDWR));
    CHECK(open(at("file/"), O_RDONLY));
    CHECK(open(at("file/x"), O_RDONLY));
    CHECK(open(at("loop1"), O_RDONLY));
    CHECK(open(at("nothere"), O_RDONLY));
    CHECK(open(at("nodir/x"), O_CREAT | O_WRONLY, 0644));
    CHECK(open(at("newdir/"), O_CREAT | O_WRONLY, 0644));
    CHECK(mkdir(at("nl"), 0755));
    CHECK(mkdir(at("file/x"), 0755));
    CHECK(rmdir(at("nl")));
    CHECK(rmdir(at("file")));
    CHECK(rmdir(at("nl/a/.")));
    CHECK(rmdir(at("nl/a/..")));
    CHECK(unlink(at("nl")));
    CHECK(unlink(at("file/")));
    CHECK(chdir(at("file")));
    CHECK(symlink("x", at("file")));
    CHECK(readlink(at("file"), (char[8]){0}, 8));
    CHECK(truncate(at("nl"), 0));
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = 0;
    CHECK(open(longname, O_RDONLY));
    CHECK(access(at("file"), X_OK));
    CHECK(access(at("file"), 99));
}

static void fdflags(void)
{
    int fd = open(at("fl"), O_CREAT | O_RDWR | O_APPEND | O_TRUNC, 0644);
    SHOW("getfl 0%o", fcntl(fd, F_GETFL));
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK | O_RDONLY | O_CREAT));
    SHOW("getfl after setfl 0%o", fcntl(fd, F_GETFL));
    CHECK(fcntl(fd, F_SETFL, O_APPEND));
    write(fd, "abc", 3);
    /* pwrite on an O_APPEND file appends (Linux) */
    CHECK(pwrite(fd, "Z", 1, 0));
    char buf[8] = "";
    CHECK(pread(fd, buf, 7, 0));
    SHOW("append [%s]", buf);
    int d = dup(fd);
    lseek(fd, 1, SEEK_SET);
    SHOW("dup shares offset %ld", (long)lseek(d, 0, SEEK_CUR));
    int n = -1;
    CHECK(ioctl(fd, FIONREAD, &n));
    SHOW("fionread file %d", n);
    CHECK(fsync(fd));
    CHECK(fdatasync(fd));
    CHECK(syncfs(fd));
    close(fd);
    close(d);
    int o = open(at("fl"), O_WRONLY | O_DIRECT);
    if (o >= 0) SHOW("o_direct getfl has O_DIRECT %d", (fcntl(o, F_GETFL) & O_DIRECT) != 0);
    else SHOW("o_direct refused");
    close(o);
    o = open(at("fl"), O_RDONLY | O_NOATIME);
    SHOW("noatime ok %d", o >= 0);
    close(o);

    int p[2];
    pipe(p);
    CHECK(fcntl(p[0], F_GETPIPE_SZ));
    CHECK(fcntl(p[0], F_SETPIPE_SZ, 100000));
    CHECK(fcntl(p[1], F_GETPIPE_SZ));
    CHECK(fcntl(p[0], F_SETPIPE_SZ, 1));
    CHECK(fcntl(p[0], F_SETPIPE_SZ, 0x7fffffff));
    write(p[1], "12345", 5);
    CHECK(ioctl(p[0], FIONREAD, &n));
    SHOW("fionread pipe %d", n);
    CHECK(fsync(p[0]));
    CHECK(lseek(p[0], 0, SEEK_CUR));
    CHECK(pread(p[0], buf, 1, 0));

    /* FIFOs */
    CHECK(mkfifo(at("fifo"), 0644));
    CHECK(mkfifo(at("fifo"), 0644));
    CHECK(open(at("fifo"), O_WRONLY | O_NONBLOCK));
    int r = open(at("fifo"), O_RDONLY | O_NONBLOCK);
    SHOW("fifo reader %d", r >= 0);
    int w = open(at("fifo"), O_WRONLY | O_NONBLOCK);
    SHOW("fifo writer %d", w >= 0);
    CHECK(write(w, "via fifo", 8));
    memset(buf, 0, sizeof buf);
    CHECK(read(r, buf, 8));
    CHECK(read(r, buf, 8));
    close(w);
    CHECK(read(r, buf, 8));
    struct stat st;
    stat(at("fifo"), &st);
    SHOW("fifo is fifo %d size %ld", S_ISFIFO(st.st_mode), (long)st.st_size);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : "/tmp");
    umask(022);
    locks();
    space();
    copies();
    renames();
    links();
    mistakes();
    fdflags();
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    printf("entries:");
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") == 0 || strcmp(names[i]->d_name, "..") == 0) continue;
        struct stat st;
        lstat(at(names[i]->d_name), &st);
        printf(" %s:%o", names[i]->d_name, st.st_mode);
    }
    printf("\n");
    return 0;
}
