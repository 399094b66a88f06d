/* The signals a pseudo-terminal's line discipline raises for the program that drives its master
 * (termios(3), tty_ioctl(4), pty(7)): with ISIG, ^C, ^\ and ^Z written to the master send SIGINT,
 * SIGQUIT and SIGTSTP to the slave's foreground process group instead of being read; a window
 * size change through the master sends SIGWINCH (an unchanged size sends none); without ISIG the
 * same bytes are plain input; closing the master hangs up the slave: its session leader gets
 * SIGHUP and its blocked read returns. What expect, tmux and sshd rely on. */
#include "probe.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static int report_fd;

static void on_signal(int sig)
{
    char c = (char)sig;
    write(report_fd, &c, 1);
}

/* Reads one byte the child reported (a signal number, or a marker letter). */
static int next_report(int fd)
{
    unsigned char c;
    ssize_t n = read(fd, &c, 1);
    return n == 1 ? c : -1;
}

static const char *name_of(int r)
{
    static char buf[32];
    if (r < 0) return "nothing";
    if (r < 65) return sigabbrev_np(r) ? sigabbrev_np(r) : "?";
    snprintf(buf, sizeof buf, "'%c'", r);
    return buf;
}

int main(void)
{
    int m = CHECK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK(grantpt(m));
    CHECK(unlockpt(m));
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    int reports[2];
    CHECK(pipe(reports));
    struct winsize ws = { .ws_row = 24, .ws_col = 80 };
    CHECK(ioctl(m, TIOCSWINSZ, &ws));

    pid_t child = fork();
    if (child == 0) {
        close(reports[0]);
        close(m);
        report_fd = reports[1];
        setsid();
        int s = open(name, O_RDWR);   /* becomes the session's controlling terminal */
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
        int sigs[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGHUP };
        for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
        write(report_fd, "R", 1);
        char buf[64];
        for (;;) {
            ssize_t n = read(s, buf, sizeof buf);
            if (n <= 0) {
                char c = n == 0 ? 'Z' : (errno == EIO ? 'E' : '?');
                write(report_fd, &c, 1);
                _exit(0);
            }
            for (ssize_t i = 0; i < n; i++) {
                char c = buf[i] == 3 ? 'c' : buf[i] == 0x1c ? 'q' : buf[i] == '\n' ? 'n' : buf[i];
                write(report_fd, &c, 1);
            }
        }
    }
    close(reports[1]);
    SHOW("child ready: %s", name_of(next_report(reports[0])));

    CHECK(write(m, "\003", 1));
    SHOW("after ^C: %s", name_of(next_report(reports[0])));
    CHECK(write(m, "\034", 1));
    SHOW("after ^\\: %s", name_of(next_report(reports[0])));
    CHECK(write(m, "a\n", 2));
    SHOW("input: %s", name_of(next_report(reports[0])));
    SHOW("input: %s", name_of(next_report(reports[0])));

    ws.ws_row = 50;
    CHECK(ioctl(m, TIOCSWINSZ, &ws));
    SHOW("after resize: %s", name_of(next_report(reports[0])));
    CHECK(ioctl(m, TIOCSWINSZ, &ws));   /* the same size again: no signal */
    struct winsize got;
    CHECK(ioctl(m, TIOCGWINSZ, &got));
    SHOW("rows now: %d", got.ws_row);

    CHECK(write(m, "\032", 1));
    SHOW("after ^Z: %s", name_of(next_report(reports[0])));

    struct termios t;
    CHECK(tcgetattr(m, &t));
    t.c_lflag &= ~(ISIG | ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    CHECK(tcsetattr(m, TCSANOW, &t));
    CHECK(write(m, "\003\034", 2));
    SHOW("without ISIG: %s", name_of(next_report(reports[0])));
    SHOW("without ISIG: %s", name_of(next_report(reports[0])));

    probe_wait_sleeping(child);
    CHECK(close(m));
    int a = next_report(reports[0]), b = next_report(reports[0]);
    /* The hang-up signal and the end of the read come in either order. */
    if (b == SIGHUP) { int x = a; a = b; b = x; }
    SHOW("after closing the master: %s, then the read ends: %s", name_of(a), name_of(b));
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    SHOW("child exit: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
