/* Checkpoint refusal probe: holds one object chosen by argv[1], prints "ready" and sleeps. pty (a
 * pty pair made through /dev/ptmx, fds 3 and 4) cannot be saved yet; memfd, sem, msg, shm,
 * cputimer and scm are saved now and stay for manual checks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    const char *what = argv[1];
    if (strcmp(what, "memfd") == 0) {
        int fd = memfd_create("probe", MFD_ALLOW_SEALING);
        if (fd < 0 || write(fd, "x", 1) != 1 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) return 2;
    } else if (strcmp(what, "sem") == 0) {
        if (semget(0x1234, 1, IPC_CREAT | 0600) < 0) return 3;
    } else if (strcmp(what, "msg") == 0) {
        if (msgget(IPC_PRIVATE, IPC_CREAT | 0600) < 0) return 4;
    } else if (strcmp(what, "shm") == 0) {
        int id = shmget(0x4321, 8192, IPC_CREAT | 0600);
        if (id < 0 || shmat(id, NULL, 0) == (void *)-1) return 5;
    } else if (strcmp(what, "cputimer") == 0) {
        /* The raw calls with clock 2: glibc's timer_create passes the process CPU clock as the
         * dynamic id MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED) (-6); both reach the same timer. */
        int t = -1;
        struct sigevent sev = {.sigev_notify = SIGEV_NONE};
        struct itimerspec its = {{0, 0}, {3600, 0}};
        if (syscall(SYS_timer_create, CLOCK_PROCESS_CPUTIME_ID, &sev, &t) != 0 || syscall(SYS_timer_settime, t, 0, &its, NULL) != 0) return 6;
    } else if (strcmp(what, "scm") == 0) {
        /* fd 3 and 4: a socketpair; the write end of a pipe (fd 6) sent over 3, queued on 4 and never received. */
        int sv[2], p[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(p) != 0) return 8;
        char byte = 'x', control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[1], sizeof(int));
        if (sendmsg(sv[0], &msg, 0) != 1) return 9;
    } else if (strcmp(what, "pty") == 0) {
        int master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master != 3 || grantpt(master) != 0 || unlockpt(master) != 0 || open(ptsname(master), O_RDWR | O_NOCTTY) != 4) return 10;
    } else {
        return 7;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) sleep(1);
}
