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
