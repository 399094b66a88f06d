/* Checkpoint/restore probe for file locks. Before "ready": the process takes an exclusive flock
 * on /dev/shm/flock and a shared one on /dev/shm/shared, POSIX record locks on /dev/shm/posix
 * (write [10,20), read [30,40)) and an OFD write lock on /dev/shm/ofd [0,5); a child (the
 * holder) takes a POSIX write lock on /dev/shm/posix [100,200) and waits; a second child (the
 * waiter) blocks in flock(LOCK_EX) on its own description of /dev/shm/flock. On SIGUSR1 a
 * third child tests every lock from outside, the parent tests the OFD lock through a new
 * description, drops its flock (the waiter then gets it and says so) and reports. Every line is
 * the same whether or not the processes were checkpointed and restored while they waited. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

static int open_rw(const char *path) { return open(path, O_RDWR | O_CREAT, 0644); }

static int range(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = type;
    l.l_whence = SEEK_SET;
    l.l_start = start;
    l.l_len = len;
    return fcntl(fd, cmd, &l);
}

/* F_GETLK / F_OFD_GETLK of a write lock over [start, start+len): "type start len who". */
static void probe(const char *name, int fd, int cmd, off_t start, off_t len, pid_t parent, pid_t holder) {
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    l.l_start = start;
    l.l_len = len;
    if (fcntl(fd, cmd, &l) != 0) { printf("%s getlk errno %d\n", name, errno); return; }
    const char *type = l.l_type == F_UNLCK ? "unlocked" : l.l_type == F_RDLCK ? "read" : "write";
    const char *who = l.l_type == F_UNLCK ? "-" : l.l_pid == parent ? "parent" : l.l_pid == holder ? "holder" : l.l_pid == -1 ? "ofd" : "other";
    printf("%s %s %ld %ld %s\n", name, type, (long)l.l_start, (long)l.l_len, who);
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    int fl = open_rw("/dev/shm/flock"), sh = open_rw("/dev/shm/shared"), px = open_rw("/dev/shm/posix"), ofd = open_rw("/dev/shm/ofd");
    if (fl < 0 || sh < 0 || px < 0 || ofd < 0) return 1;
    if (flock(fl, LOCK_EX) != 0 || flock(sh, LOCK_SH) != 0) return 2;
    if (range(px, F_SETLK, F_WRLCK, 10, 10) != 0 || range(px, F_SETLK, F_RDLCK, 30, 10) != 0) return 3;
    if (range(ofd, F_OFD_SETLK, F_WRLCK, 0, 5) != 0) return 4;
    pid_t parent = getpid();
    int ready[2];
    if (pipe(ready) != 0) return 5;

    pid_t holder = fork();
    if (holder == 0) {
        int f = open_rw("/dev/shm/posix");
        if (range(f, F_SETLK, F_WRLCK, 100, 100) != 0) _exit(1);
        if (write(ready[1], "h", 1) != 1) _exit(2);
        for (;;) pause();
    }
    pid_t waiter = fork();
    if (waiter == 0) {
        int f = open_rw("/dev/shm/flock");
        if (write(ready[1], "w", 1) != 1) _exit(2);
        if (flock(f, LOCK_EX) != 0) { printf("waiter flock errno %d\n", errno); _exit(3); }
        printf("waiter got the flock\n");
        fflush(stdout);
        _exit(0);
    }
    char c;
    for (int i = 0; i < 2; i++)
        if (read(ready[0], &c, 1) != 1) return 6;
    usleep(100000);   /* the waiter is blocked in flock by now */
    printf("ready\n");
    fflush(stdout);
    while (!go) pause();

    pid_t tester = fork();
    if (tester == 0) {
        int f = open_rw("/dev/shm/flock"), s = open_rw("/dev/shm/shared"), p = open_rw("/dev/shm/posix"), o = open_rw("/dev/shm/ofd");
        printf("flock ex: %s\n", flock(f, LOCK_EX | LOCK_NB) == 0 ? "got" : errno == EWOULDBLOCK ? "held" : "error");
        printf("shared sh: %s\n", flock(s, LOCK_SH | LOCK_NB) == 0 ? "got" : "held");
        printf("shared ex: %s\n", flock(s, LOCK_EX | LOCK_NB) == 0 ? "got" : errno == EWOULDBLOCK ? "held" : "error");
        probe("posix [5,25)", p, F_GETLK, 5, 20, parent, holder);
        probe("posix [25,50)", p, F_GETLK, 25, 25, parent, holder);
        probe("posix [150,160)", p, F_GETLK, 150, 10, parent, holder);
        probe("posix [20,30)", p, F_GETLK, 20, 10, parent, holder);
        probe("ofd [0,EOF)", o, F_OFD_GETLK, 0, 0, parent, holder);
        printf("posix set [15,16): %s\n", range(p, F_SETLK, F_WRLCK, 15, 1) == 0 ? "got" : errno == EAGAIN || errno == EACCES ? "held" : "error");
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(tester, &status, 0);
    /* The parent's own locks are its own: no conflict with itself; another description of the
     * OFD-locked file conflicts. */
    probe("parent posix [0,EOF)", px, F_GETLK, 0, 0, parent, holder);
    int o2 = open_rw("/dev/shm/ofd");
    probe("parent ofd [0,EOF)", o2, F_OFD_GETLK, 0, 0, parent, holder);
    fflush(stdout);
    flock(fl, LOCK_UN);
    waitpid(waiter, &status, 0);
    printf("waiter exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    kill(holder, SIGKILL);
    waitpid(holder, &status, 0);
    fflush(stdout);
    return 0;
}
