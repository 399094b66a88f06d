/* getrusage(2)'s ru_maxrss: the peak resident set of the process (in kB), and for
 * RUSAGE_CHILDREN the largest of the reaped children's; the resident set in /proc/self/statm,
 * stat and status. Prints only whether the peaks cover the
 * memory each process touched, so the lines do not depend on the C library's own footprint (nor
 * on the launcher's: the peak outlives execve, so a probe forked from a large process starts high). */
#include "probe.h"
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void touch(size_t mb)
{
    char *p = mmap(0, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < mb << 20; i += 4096) p[i] = 1;
}

int main(void)
{
    struct rusage ru;
    touch(16);
    CHECK(getrusage(RUSAGE_SELF, &ru));
    SHOW("self peak covers 16 MB: %s", ru.ru_maxrss >= 16 * 1024 ? "yes" : "no");
    CHECK(getrusage(RUSAGE_CHILDREN, &ru));
    SHOW("children peak before any child: %ld", ru.ru_maxrss);
    pid_t child = fork();
    if (child == 0) {
        touch(48);
        _exit(0);
    }
    waitpid(child, 0, 0);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru));
    SHOW("children peak covers 48 MB: %s", ru.ru_maxrss >= 48 * 1024 ? "yes" : "no");
    CHECK(getrusage(7, &ru));

    /* The same memory through /proc/self: statm's resident pages, stat's rss (field 24, what
     * libuv's process.memoryUsage reads), status's VmRSS. */
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(fscanf(f, "%ld %ld", &size, &resident));
    fclose(f);
    SHOW("statm resident covers 16 MB: %s, size >= resident: %s", resident >= 4096 ? "yes" : "no", size >= resident ? "yes" : "no");
    char buf[1024] = {0};
    f = fopen("/proc/self/stat", "r");
    CHECK(fread(buf, 1, sizeof buf - 1, f) > 0);
    fclose(f);
    char *p = strrchr(buf, ')') + 2;   /* field 3 */
    long rss = 0;
    for (int field = 3; field < 24 && p; field++) p = strchr(p, ' ') + 1;
    rss = atol(p);
    SHOW("stat rss covers 16 MB: %s", rss >= 4096 ? "yes" : "no");
    f = fopen("/proc/self/status", "r");
    long vmrss = 0;
    while (fgets(buf, sizeof buf, f))
        if (strncmp(buf, "VmRSS:", 6) == 0) vmrss = atol(buf + 6);
    fclose(f);
    SHOW("status VmRSS covers 16 MB: %s", vmrss >= 16 * 1024 ? "yes" : "no");
    return 0;
}
