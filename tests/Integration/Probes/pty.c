/* Pseudo-terminals the program makes itself (pty(7)): posix_openpt, grantpt, unlockpt, ptsname
 * and TIOCGPTN agree, the slave is a terminal whose ttyname is that name, data and line
 * discipline flow between the two sides, a child in a new session gets the slave as its
 * controlling terminal, TIOCGPTPEER opens the slave, and once every slave fd is closed the
 * master reads the buffered output and then EIO (what script(1) and Python's pty module rely on).
 * Prints no pty numbers: the host's and the container's devpts number differently. */
#include "probe.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>

int main(void)
{
    int m = CHECK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK(grantpt(m));
    CHECK(unlockpt(m));
    char *name = ptsname(m);
    unsigned int n = 0;
    CHECK(ioctl(m, TIOCGPTN, &n));
    char expect[64];
    snprintf(expect, sizeof expect, "/dev/pts/%u", n);
    SHOW("ptsname matches TIOCGPTN: %s", name && strcmp(name, expect) == 0 ? "yes" : "no");
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    struct stat st;
    CHECK(fstat(s, &st));
    SHOW("slave is a char device: %s, isatty: %d", S_ISCHR(st.st_mode) ? "yes" : "no", isatty(s));
    SHOW("ttyname is ptsname: %s", ttyname(s) && strcmp(ttyname(s), name) == 0 ? "yes" : "no");
    struct termios t;
    CHECK(tcgetattr(s, &t));
    SHOW("echo on: %s, icanon on: %s", (t.c_lflag & ECHO) ? "yes" : "no", (t.c_lflag & ICANON) ? "yes" : "no");
    t.c_lflag &= ~ECHO;
    CHECK(tcsetattr(s, TCSANOW, &t));
    CHECK(write(m, "line\n", 5));
    char buf[256] = {0};
    CHECK(read(s, buf, sizeof buf - 1));
    SHOW("slave read: %s", buf[0] == 'l' ? "line" : buf);
    CHECK(write(s, "out\n", 4));
    memset(buf, 0, sizeof buf);
    CHECK(read(m, buf, sizeof buf - 1));
    SHOW("master read (onlcr): %s", strcmp(buf, "out\r\n") == 0 ? "out\\r\\n" : buf);
    int peer = CHECK(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY));
    SHOW("peer isatty: %d", isatty(peer));
    close(peer);

    pid_t child = fork();
    if (child == 0) {
        close(s);
        setsid();
        int c = open(name, O_RDWR);   /* the first terminal a session leader opens becomes its controlling terminal */
        pid_t pgrp = tcgetpgrp(c);
        printf("child: ctty foreground is self: %s\n", pgrp == getpid() ? "yes" : "no");
        fflush(stdout);
        dprintf(c, "from-child\n");
        _exit(0);
    }
    close(s);
    int status;
    waitpid(child, &status, 0);
    char all[512] = {0};
    size_t got = 0;
    ssize_t r;
    while ((r = read(m, all + got, sizeof all - 1 - got)) > 0) got += r;
    SHOW("master got: %s", strcmp(all, "from-child\r\n") == 0 ? "from-child\\r\\n" : all);
    SHOW("then: %s", r < 0 ? strerrorname_np(errno) : "EOF");
    return 0;
}
