/* The signal lines of /proc/PID/status (SigQ, SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt), as ps and
 * Python's subprocess tests read them: dispositions, blocked mask, thread and process pending. */
#include "probe.h"
#include <pthread.h>
#include <signal.h>

static void handler(int sig) { (void)sig; }

static void show_status(const char *when, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    SHOW("-- %s", when);
    while (f && fgets(line, sizeof line, f)) {
        /* SigQ counts the whole user's queued signals on the host: not compared. */
        if ((strncmp(line, "Sig", 3) == 0 && strncmp(line, "SigQ:", 5) != 0) || strncmp(line, "ShdPnd:", 7) == 0) {
            printf("%s", line);
        }
    }
    if (f) fclose(f);
    fflush(stdout);
}

static void *thread_main(void *arg)
{
    (void)arg;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGHUP);
    show_status("thread with its own pending SIGHUP", path);
    return NULL;
}

int main(void)
{
    /* Dispositions and masks are inherited: start from the defaults whatever the caller left. */
    for (int sig = 1; sig < 65; sig++) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    show_status("start", "/proc/self/status");
    signal(SIGUSR2, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR1, handler);
    struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_SIGINFO};
    sigaction(SIGRTMIN + 2, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGRTMIN);
    sigaddset(&s, SIGHUP);
    sigprocmask(SIG_BLOCK, &s, NULL);
    show_status("dispositions and mask", "/proc/self/status");
    kill(getpid(), SIGTERM);
    union sigval v = {.sival_int = 1};
    sigqueue(getpid(), SIGRTMIN, v);
    sigqueue(getpid(), SIGRTMIN, v);
    show_status("process-wide pending", "/proc/self/status");
    pthread_t t;
    long created = pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    CHECK(created);
    signal(SIGUSR2, SIG_DFL);
    show_status("after restoring SIGUSR2", "/proc/self/status");
    return 0;
}
