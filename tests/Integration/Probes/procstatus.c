/* /proc/PID/status as proc(5) gives it: every field of this kernel in its order, the signal
 * masks (SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt: bit N-1 for signal N) of the process itself and
 * of a child, and Groups with its trailing space. What ps, pgrep, systemd and test suites read. */
#include "probe.h"
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>

static void on_usr1(int sig) { (void)sig; }

static void show_status(const char *who, pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) { SHOW("%s: %s", who, strerrorname_np(errno)); return; }
    printf("%s fields:", who);
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (colon == NULL) continue;
        *colon = 0;
        printf(" %s", line);
        if (!strncmp(line, "Sig", 3) && strcmp(line, "SigQ") != 0) printf("=%s", strtok(colon + 1, "\t\n"));
        if (!strcmp(line, "ShdPnd")) printf("=%s", strtok(colon + 1, "\t\n"));
    }
    printf("\n");
    fclose(f);
    fflush(stdout);
}

int main(void)
{
    /* Start from default dispositions and an empty mask: the native run inherits its caller's
     * (nohup ignores SIGHUP, test hosts ignore SIGPIPE). */
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setgroups(0, NULL);   /* natively as in the container: no supplementary groups (refused there without CAP_SETGID, and none to drop) */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR2);                      /* pending for this thread */
    kill(getpid(), SIGTERM);             /* pending for the process */
    show_status("self", getpid());

    FILE *g = fopen("/proc/self/status", "r");
    char line[512];
    while (g && fgets(line, sizeof line, g))
        if (!strncmp(line, "Groups:", 7)) printf("groups line: [%.*s]\n", (int)strcspn(line, "\n"), line);
    if (g) fclose(g);

    int p[2];
    CHECK(pipe(p));
    pid_t c = fork();
    if (c == 0) {
        sigset_t none;
        sigemptyset(&none);
        signal(SIGUSR2, SIG_IGN);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGHUP, on_usr1);
        write(p[1], "r", 1);
        pause();
        _exit(0);
    }
    char b;
    read(p[0], &b, 1);
    show_status("child", c);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    return 0;
}
