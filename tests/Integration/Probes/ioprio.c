/* I/O priorities (ioprio_set(2), ioprio_get(2), what ionice uses): a process that never set one
 * reports the none class, set values read back, bad classes, levels and "which" are EINVAL, an
 * unknown pid is ESRCH, and a forked child inherits its parent's. */
#include "probe.h"
#include <sys/wait.h>

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define PRIO(cls, level) (((cls) << 13) | (level))

static long get(int which, int who) { return syscall(SYS_ioprio_get, which, who); }
static long set(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }

int main(void)
{
    CHECK(get(IOPRIO_WHO_PROCESS, 0));
    CHECK(set(IOPRIO_WHO_PROCESS, 0, PRIO(2, 3)));
    CHECK(get(IOPRIO_WHO_PROCESS, 0));
    CHECK(get(IOPRIO_WHO_PROCESS, getpid()));
    CHECK(get(IOPRIO_WHO_PGRP, 0));
    CHECK(set(IOPRIO_WHO_PROCESS, 0, PRIO(2, 8)));
    CHECK(set(IOPRIO_WHO_PROCESS, 0, PRIO(0, 1)));
    CHECK(set(IOPRIO_WHO_PROCESS, 0, PRIO(5, 0)));
    CHECK(set(9, 0, PRIO(2, 1)));
    CHECK(get(9, 0));
    CHECK(get(IOPRIO_WHO_PROCESS, 999999));
    CHECK(set(IOPRIO_WHO_PROCESS, 999999, PRIO(2, 1)));
    pid_t child = fork();
    if (child == 0) {
        CHECK(get(IOPRIO_WHO_PROCESS, 0));
        CHECK(set(IOPRIO_WHO_PROCESS, 0, PRIO(3, 0)));
        CHECK(get(IOPRIO_WHO_PROCESS, 0));
        _exit(0);
    }
    waitpid(child, 0, 0);
    CHECK(get(IOPRIO_WHO_PROCESS, 0));
    CHECK(set(IOPRIO_WHO_PROCESS, 0, PRIO(0, 0)));
    CHECK(get(IOPRIO_WHO_PROCESS, 0));
    return 0;
}
