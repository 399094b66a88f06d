/* CPU affinity (sched_setaffinity/sched_getaffinity) and the policies' priority ranges:
 * argument checks, a mask set is the mask read back (also by a forked child and in
 * /proc/self/status), errors for unknown threads, short buffers, empty masks. */
#include "probe.h"
#include <sched.h>
#include <sys/wait.h>

static void status_list(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            /* Only meaningful after restricting to CPU 0. */
            printf("status %s", line);
        }
    if (f) fclose(f);
    fflush(stdout);
}

int main(void)
{
    cpu_set_t all, one, got;
    CPU_ZERO(&all);
    long r = syscall(SYS_sched_getaffinity, 0, sizeof all, &all);
    SHOW("getaffinity size positive, whole longs: %d", r > 0 && r % 8 == 0);
    SHOW("some cpu: %d", CPU_COUNT(&all) > 0);

    CHECK(syscall(SYS_sched_getaffinity, 0, 0, &got));
    CHECK(syscall(SYS_sched_getaffinity, 0, 4, &got));
    CHECK(syscall(SYS_sched_getaffinity, 0, 12, &got));
    CHECK(syscall(SYS_sched_getaffinity, -1, sizeof got, &got));
    CHECK(syscall(SYS_sched_getaffinity, 999999, sizeof got, &got));
    CHECK(syscall(SYS_sched_getaffinity, 0, sizeof got, (void *)8));

    CPU_ZERO(&one);
    CPU_SET(0, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one));
    CPU_ZERO(&got);
    CHECK(sched_getaffinity(0, sizeof got, &got));
    SHOW("after set: count %d cpu0 %d", CPU_COUNT(&got), CPU_ISSET(0, &got));
    status_list();

    pid_t pid = fork();
    if (pid == 0) {
        cpu_set_t c;
        sched_getaffinity(0, sizeof c, &c);
        SHOW("child inherits: count %d cpu0 %d", CPU_COUNT(&c), CPU_ISSET(0, &c));
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* A one-long mask is enough (zero-extended). */
    unsigned long word = 1;
    CHECK(syscall(SYS_sched_setaffinity, 0, sizeof word, &word));
    cpu_set_t empty;
    CPU_ZERO(&empty);
    CHECK(sched_setaffinity(0, sizeof empty, &empty));
    cpu_set_t far;
    CPU_ZERO(&far);
    CPU_SET(CPU_SETSIZE - 1, &far);
    CHECK(sched_setaffinity(0, sizeof far, &far));
    CHECK(sched_setaffinity(-1, sizeof one, &one));
    CHECK(sched_setaffinity(999999, sizeof one, &one));
    CHECK(syscall(SYS_sched_setaffinity, 0, sizeof one, (void *)8));
    CHECK(sched_setaffinity(0, sizeof all, &all));
    CHECK(sched_getaffinity(0, sizeof got, &got));
    SHOW("restored: %d", CPU_EQUAL(&got, &all));

    int policies[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 6, 4, -23};
    for (unsigned i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "priority max %d", policies[i]);
        probe_report(what, sched_get_priority_max(policies[i]));
        snprintf(what, sizeof what, "priority min %d", policies[i]);
        probe_report(what, sched_get_priority_min(policies[i]));
    }
    return 0;
}
