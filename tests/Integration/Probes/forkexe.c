/* /proc/PID/exe of a forked child is its parent's program until it executes another; the child
 * can re-execute itself through /proc/self/exe. */
#include "probe.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
    char self[256] = "", got[256] = "", path[64];
    if (argc > 1) {
        SHOW("re-executed with %s", argv[1]);
        return 0;
    }
    readlink("/proc/self/exe", self, sizeof self - 1);
    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(p[0], &c, 1); /* after the parent's lines */
        readlink("/proc/self/exe", got, sizeof got - 1);
        SHOW("child sees the parent's program: %d", strcmp(got, self) == 0);
        char *args[] = {"again", "--again", NULL};
        execv("/proc/self/exe", args);
        SHOW("execv /proc/self/exe: %s", strerrorname_np(errno));
        _exit(1);
    }
    snprintf(path, sizeof path, "/proc/%d/exe", child);
    CHECK(readlink(path, got, sizeof got - 1) > 0);
    SHOW("parent sees the child's program: %d", strcmp(got, self) == 0);
    write(p[1], "x", 1);
    int st;
    waitpid(child, &st, 0);
    SHOW("child exit %d", WEXITSTATUS(st));
    return 0;
}
