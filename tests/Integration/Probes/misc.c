/* Small things programs check: prctl names and /proc/self/comm, getrandom flags, sysinfo. */
#include "probe.h"
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/sysinfo.h>

static void comm(const char *what)
{
    char buf[64] = "";
    int fd = open("/proc/self/comm", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    SHOW("%s: comm %zd [%.*s]", what, n, (int)(n > 0 ? n - 1 : 0), buf);
}

int main(void)
{
    char name[32];
    memset(name, 'x', sizeof name);
    CHECK(prctl(PR_GET_NAME, name));
    SHOW("name [%s]", name);
    comm("start");
    CHECK(prctl(PR_SET_NAME, "a-very-long-thread-name-indeed"));
    memset(name, 'x', sizeof name);
    CHECK(prctl(PR_GET_NAME, name));
    SHOW("name [%s] terminated %d", name, name[15] == 0);
    comm("after PR_SET_NAME");
    CHECK(prctl(PR_SET_NAME, (char *)8));
    CHECK(prctl(PR_GET_NAME, (char *)8));
    int fd = open("/proc/self/comm", O_WRONLY);
    CHECK(write(fd, "written\n", 8));
    close(fd);
    CHECK(prctl(PR_GET_NAME, name));
    SHOW("name after comm write [%s]", name);
    char tc[64];
    snprintf(tc, sizeof tc, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
    fd = open(tc, O_RDONLY);
    char buf[64] = "";
    ssize_t n = read(fd, buf, sizeof buf);
    SHOW("task comm %zd [%.*s]", n, (int)(n > 0 ? n - 1 : 0), buf);

    char r[64];
    CHECK(getrandom(r, sizeof r, 0));
    CHECK(getrandom(r, sizeof r, GRND_NONBLOCK));
    CHECK(getrandom(r, sizeof r, GRND_RANDOM));
    CHECK(getrandom(r, sizeof r, GRND_RANDOM | GRND_NONBLOCK));
    CHECK(getrandom(r, sizeof r, 0x0004 /* GRND_INSECURE */));
    CHECK(getrandom(r, sizeof r, 0x0004 | GRND_RANDOM));
    CHECK(getrandom(r, sizeof r, 0x40));
    CHECK(syscall(SYS_getrandom, (void *)8, 16, 0));
    CHECK(getrandom(r, 0, 0));

    struct sysinfo si;
    memset(&si, 0xff, sizeof si);
    CHECK(sysinfo(&si));
    SHOW("uptime>0 %d totalram>0 %d free<=total %d mem_unit %u procs>0 %d highmem %lu", si.uptime > 0, si.totalram > 0,
         si.freeram <= si.totalram, si.mem_unit, si.procs > 0, si.totalhigh);
    CHECK(sysinfo((struct sysinfo *)8));
    return 0;
}
