/* getrusage(2)'s ru_maxrss: the peak resident set of the process (in kB), and for
 * RUSAGE_CHILDREN the largest of the reaped children's. Prints only whether the peaks cover the
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
    return 0;
}
