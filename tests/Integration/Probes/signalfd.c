/* signalfd/signalfd4: argument errors, reading records, mask updates, poll/epoll readiness, blocking reads. */
#include "probe.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

static sigset_t of(int a, int b, int c)
{
    sigset_t s;
    sigemptyset(&s);
    if (a) sigaddset(&s, a);
    if (b) sigaddset(&s, b);
    if (c) sigaddset(&s, c);
    return s;
}

static int readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void show_record(const struct signalfd_siginfo *r, pid_t expect_pid)
{
    SHOW("record signo %u code %d pid-ok %d uid %u int %d ptr %llu overrun %u status %d", r->ssi_signo, r->ssi_code,
         (pid_t)r->ssi_pid == expect_pid, r->ssi_uid, r->ssi_int, (unsigned long long)r->ssi_ptr, r->ssi_overrun, r->ssi_status);
}

int main(void)
{
    sigset_t m = of(SIGUSR1, 0, 0);
    int p[2];
    pipe(p);
    CHECK(syscall(SYS_signalfd4, -1, &m, 4, 0));
    CHECK(syscall(SYS_signalfd4, -1, (void *)8, 8, 0));
    CHECK(syscall(SYS_signalfd4, -1, &m, 8, 1));
    CHECK(syscall(SYS_signalfd4, p[0], &m, 8, 0));
    CHECK(syscall(SYS_signalfd4, 999, &m, 8, 0));

    sigset_t blocked = of(SIGUSR1, SIGUSR2, SIGCHLD);
    sigaddset(&blocked, SIGRTMIN);
    sigaddset(&blocked, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &blocked, NULL);

    int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    SHOW("signalfd ok %d", sfd >= 0);
    SHOW("cloexec %d nonblock %d", fcntl(sfd, F_GETFD) & FD_CLOEXEC, (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
    char link[64] = "";
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sfd);
    readlink(path, link, sizeof link - 1);
    SHOW("link %s", link);

    struct signalfd_siginfo rec[4];
    char small[10];
    CHECK(read(sfd, small, sizeof small));
    CHECK(read(sfd, rec, sizeof rec));
    SHOW("readable empty %d", readable(sfd));

    kill(getpid(), SIGUSR1);
    SHOW("readable after kill %d", readable(sfd));
    CHECK(read(sfd, rec, sizeof rec));
    show_record(&rec[0], getpid());
    SHOW("readable after read %d", readable(sfd));

    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, v);
    CHECK(read(sfd, rec, sizeof rec));
    show_record(&rec[0], getpid());

    raise(SIGUSR1);
    CHECK(read(sfd, rec, sizeof rec));
    show_record(&rec[0], getpid());

    /* mask update through the same fd */
    sigset_t m2 = of(SIGUSR2, SIGRTMIN, 0);
    CHECK(signalfd(sfd, &m2, 0) == sfd);
    kill(getpid(), SIGUSR1);
    SHOW("USR1 outside mask readable %d", readable(sfd));
    v.sival_int = 1;
    sigqueue(getpid(), SIGRTMIN, v);
    v.sival_int = 2;
    sigqueue(getpid(), SIGRTMIN, v);
    kill(getpid(), SIGUSR2);
    CHECK(read(sfd, rec, sizeof rec));
    for (int i = 0; i < 3; i++) show_record(&rec[i], getpid());
    sigset_t pend;
    sigpending(&pend);
    SHOW("USR1 still pending %d", sigismember(&pend, SIGUSR1));
    sigset_t u1 = of(SIGUSR1, 0, 0);
    int sig;
    sigwait(&u1, &sig);

    /* epoll readiness */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev));
    struct epoll_event out[2];
    CHECK(epoll_wait(ep, out, 2, 0));
    kill(getpid(), SIGUSR2);
    CHECK(epoll_wait(ep, out, 2, 1000));
    SHOW("epoll events %x data %u", out[0].events, out[0].data.u32);
    CHECK(read(sfd, rec, sizeof rec));

    /* a blocking read woken by another process's kill, then SIGCHLD */
    sigset_t m3 = of(SIGUSR2, SIGCHLD, 0);
    int bfd = signalfd(-1, &m3, 0);
    pid_t child = fork();
    if (child == 0) {
        usleep(50 * 1000);
        kill(getppid(), SIGUSR2);
        _exit(7);
    }
    CHECK(read(bfd, rec, sizeof rec[0]));
    show_record(&rec[0], child);
    CHECK(read(bfd, rec, sizeof rec[0]));
    show_record(&rec[0], child);
    waitpid(child, NULL, 0);

    /* POSIX timer signal through a signalfd */
    sigset_t m4 = of(SIGRTMIN + 1, 0, 0);
    int tfd = signalfd(-1, &m4, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN + 1;
    sev.sigev_value.sival_int = 77;
    int tid;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &tid);
    struct itimerspec its = {{0, 0}, {0, 5 * 1000000}};
    syscall(SYS_timer_settime, tid, 0, &its, NULL);
    CHECK(read(tfd, rec, sizeof rec));
    SHOW("timer record signo %u code %d tid-ok %d int %d overrun %u", rec[0].ssi_signo, rec[0].ssi_code, (int)rec[0].ssi_tid == tid,
         rec[0].ssi_int, rec[0].ssi_overrun);

    /* a child reads its own signals through the inherited file */
    child = fork();
    if (child == 0) {
        raise(SIGUSR2);
        struct signalfd_siginfo r;
        long n = read(sfd, &r, sizeof r);
        SHOW("child read %ld signo %u", n, r.ssi_signo);
        n = read(sfd, &r, sizeof r);
        SHOW("child second read %ld errno %s", n, strerrorname_np(errno));
        _exit(0);
    }
    waitpid(child, NULL, 0);
    CHECK(read(sfd, rec, sizeof rec));
    return 0;
}
