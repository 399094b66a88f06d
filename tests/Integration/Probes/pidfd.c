/* pidfd_open, pidfd_send_signal, pidfd_getfd, poll/epoll readiness and waitid(P_PIDFD). */
#include "probe.h"
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int popen_(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int psend(int fd, int sig, siginfo_t *info, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }
static int pgetfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

static int poll_events(int fd, int timeout)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, timeout);
    return r <= 0 ? r : p.revents;
}

static pid_t sleeper(void)
{
    pid_t c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    return c;
}

int main(void)
{
    int p[2];
    pipe(p);
    CHECK(popen_(-1, 0));
    CHECK(popen_(0, 0));
    CHECK(popen_(getpid(), 1));
    CHECK(popen_(999999, 0));
    int self = popen_(getpid(), 0);
    SHOW("self ok %d cloexec %d", self >= 0, fcntl(self, F_GETFD) & FD_CLOEXEC);
    SHOW("self poll %d", poll_events(self, 0));
    char link[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", self);
    readlink(path, link, sizeof link - 1);
    SHOW("link %s", link);
    char buf[8];
    CHECK(read(self, buf, sizeof buf));
    CHECK(psend(p[0], SIGUSR1, NULL, 0));
    CHECK(psend(self, SIGUSR1, NULL, 8));
    CHECK(psend(self, 100, NULL, 0));
    CHECK(psend(self, 0, NULL, 0));
    siginfo_t si;
    CHECK(waitid(P_PIDFD, p[0], &si, WEXITED));
    CHECK(waitid(P_PIDFD, -1, &si, WEXITED));
    CHECK(waitid(P_PIDFD, self, &si, WEXITED | WNOHANG));

    /* kill a child through its pidfd; readiness; waitid */
    pid_t child = sleeper();
    int pfd = popen_(child, 0);
    SHOW("child poll before %d", poll_events(pfd, 0));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 9}, out[1];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev));
    CHECK(epoll_wait(ep, out, 1, 0));
    CHECK(psend(pfd, SIGTERM, NULL, 0));
    CHECK(epoll_wait(ep, out, 1, 5000));
    SHOW("epoll events %x data %u", out[0].events, out[0].data.u32);
    SHOW("child poll exited %x", poll_events(pfd, 5000));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, pfd, &si, WEXITED));
    SHOW("waitid code %d status %d pid-ok %d", si.si_code, si.si_status, si.si_pid == child);
    SHOW("child poll reaped %x", poll_events(pfd, 0));
    CHECK(psend(pfd, SIGTERM, NULL, 0));
    CHECK(waitid(P_PIDFD, pfd, &si, WEXITED));

    /* non-blocking pidfd: EAGAIN while running */
    child = sleeper();
    int nfd = popen_(child, O_NONBLOCK);
    SHOW("nonblock flag %d", (fcntl(nfd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK(waitid(P_PIDFD, nfd, &si, WEXITED));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, nfd, &si, WEXITED | WNOHANG));
    SHOW("WNOHANG pid %d", si.si_pid);
    kill(child, SIGKILL);
    poll_events(nfd, 5000);
    CHECK(waitid(P_PIDFD, nfd, &si, WEXITED));
    SHOW("killed code %d status %d", si.si_code, si.si_status);

    /* siginfo through pidfd_send_signal */
    child = fork();
    if (child == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, NULL);
        kill(getpid(), SIGSTOP);
        siginfo_t got;
        sigwaitinfo(&s, &got);
        _exit(got.si_code == SI_QUEUE ? got.si_value.sival_int : 100 + got.si_code);
    }
    int qfd = popen_(child, 0);
    waitid(P_PID, child, &si, WSTOPPED);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_USER;
    CHECK(psend(qfd, SIGUSR1, &info, 0));
    info.si_signo = SIGUSR2;
    info.si_code = SI_QUEUE;
    CHECK(psend(qfd, SIGUSR1, &info, 0));
    info.si_signo = SIGUSR1;
    info.si_value.sival_int = 5;
    CHECK(psend(qfd, SIGUSR1, &info, 0));
    CHECK(psend(qfd, SIGCONT, NULL, 0));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, qfd, &si, WEXITED));
    SHOW("queued value exit %d", si.si_status);

    /* pidfd_getfd: take a child's pipe end */
    int q[2];
    pipe(q);
    child = fork();
    if (child == 0) {
        close(q[1]);
        for (;;) pause();
    }
    int gfd = popen_(child, 0);
    CHECK(pgetfd(gfd, q[0], 1));
    CHECK(pgetfd(gfd, 999, 0));
    CHECK(pgetfd(p[0], q[0], 0));
    int dup = pgetfd(gfd, q[0], 0);
    SHOW("getfd ok %d cloexec %d", dup >= 0, fcntl(dup, F_GETFD) & FD_CLOEXEC);
    write(q[1], "hi", 2);
    char got[3] = "";
    CHECK(read(dup, got, 2));
    SHOW("read through the stolen fd %s", got);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK(pgetfd(gfd, q[0], 0));

    /* clone(CLONE_PIDFD): the pidfd comes back through parent_tid */
    int cfd = -1;
    CHECK(syscall(SYS_clone, SIGCHLD | CLONE_PIDFD | CLONE_PARENT_SETTID, 0, &cfd, 0, 0));
    long cpid = syscall(SYS_clone, SIGCHLD | CLONE_PIDFD, 0, &cfd, 0, 0);
    if (cpid == 0) _exit(3);
    SHOW("clone pidfd set %d cloexec %d", cfd >= 0, fcntl(cfd, F_GETFD) & FD_CLOEXEC);
    SHOW("clone pidfd poll %x", poll_events(cfd, 5000));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, cfd, &si, WEXITED));
    SHOW("clone child code %d status %d pid-ok %d", si.si_code, si.si_status, si.si_pid == cpid);

    /* An fd open on /proc/PID names the process for pidfd_send_signal (not a thread's directory
     * or another proc file). */
    pid_t pchild = fork();
    if (pchild == 0) {
        for (;;) pause();
    }
    char ppath[64];
    snprintf(ppath, sizeof ppath, "/proc/%d", pchild);
    int procfd = open(ppath, O_RDONLY | O_DIRECTORY);
    snprintf(ppath, sizeof ppath, "/proc/%d/task/%d", pchild, pchild);
    int taskfd = open(ppath, O_RDONLY | O_DIRECTORY);
    int statfd = open("/proc/self/stat", O_RDONLY);
    CHECK(syscall(SYS_pidfd_send_signal, procfd, 0, NULL, 0));
    CHECK(syscall(SYS_pidfd_send_signal, taskfd, 0, NULL, 0));
    CHECK(syscall(SYS_pidfd_send_signal, statfd, 0, NULL, 0));
    CHECK(syscall(SYS_pidfd_send_signal, procfd, SIGTERM, NULL, 0));
    int pst = 0;
    waitpid(pchild, &pst, 0);
    SHOW("killed through /proc/PID: signaled %d sig %d", WIFSIGNALED(pst), WTERMSIG(pst));
    CHECK(syscall(SYS_pidfd_send_signal, procfd, 0, NULL, 0));
    return 0;
}
