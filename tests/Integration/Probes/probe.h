/* Shared helpers of the system-call probes: each probe prints lines that must be identical
 * natively and inside runsc-net (no pids, addresses or times in the output). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

/* Prints "what: result" or "what: -1 ENAME" for a call that returns -1 and sets errno. */
static long probe_report(const char *what, long r)
{
    if (r == -1)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
    fflush(stdout);
    return r;
}

#define CHECK(expr) probe_report(#expr, (long)(expr))
#define SHOW(fmt, ...) do { printf(fmt "\n", ##__VA_ARGS__); fflush(stdout); } while (0)

/* Waits (up to 5 s) until process pid sleeps, e.g. blocked in the call a test wants to wake: a fixed
 * sleep races with a loaded machine. */
static inline void probe_wait_sleeping(int pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int seen = 0;
    for (int i = 0; i < 2500; i++) {
        FILE *f = fopen(path, "r");
        if (f == NULL) return;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *close_paren = strrchr(buf, ')');
        int sleeping = close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'S';
        usleep(sleeping ? 20000 : 2000);
        if (sleeping && ++seen == 2) return; /* twice, 20 ms apart: blocked, not just between two calls */
        if (!sleeping) seen = 0;
    }
}
