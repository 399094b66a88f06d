/* CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, clock_getcpuclockid,
 * pthread_getcpuclockid: ids ~pid << 3 | type | thread) and setting clocks (clock_settime,
 * settimeofday) without CAP_SYS_TIME. */
#include "probe.h"
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static void drop_sys_time(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[CAP_SYS_TIME / 32].effective &= ~(1u << (CAP_SYS_TIME % 32));
    CHECK(syscall(SYS_capset, &h, d));
}

/* Uses 20 ms of CPU in user code (system calls' time is the kernel's, not the loop's). */
static void burn(void)
{
    struct timespec a, b;
    volatile unsigned long spin = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do {
        for (int i = 0; i < 1000000; i++) spin++;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 20000000L);
}

static long long ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) return -errno;
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;

static void *idle_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!done) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static clockid_t make(pid_t pid, int type, int thread) { return (clockid_t)((~(unsigned)pid << 3) | type | (thread ? 4 : 0)); }

int main(void)
{
    drop_sys_time();
    burn();
    SHOW("process cpu >= 20ms: %d", ns(CLOCK_PROCESS_CPUTIME_ID) >= 20000000LL);
    SHOW("thread cpu >= 20ms: %d", ns(CLOCK_THREAD_CPUTIME_ID) >= 20000000LL);

    pthread_t t;
    pthread_create(&t, NULL, idle_thread, NULL);
    clockid_t tc, self;
    CHECK(pthread_getcpuclockid(t, &tc));
    CHECK(pthread_getcpuclockid(pthread_self(), &self));
    burn();
    long long idle = ns(tc), busy = ns(self);
    SHOW("idle thread clock ok: %d, below the busy one: %d", idle >= 0, idle < busy);
    SHOW("busy thread clock >= 40ms: %d", busy >= 40000000LL);
    SHOW("process clock >= busy thread: %d", ns(CLOCK_PROCESS_CPUTIME_ID) >= busy);
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(t, NULL);

    clockid_t pc;
    CHECK(clock_getcpuclockid(getpid(), &pc));
    SHOW("own process clock >= 40ms: %d", ns(pc) >= 40000000LL);
    SHOW("pid 0 process clock: %d", ns(make(0, 2, 0)) >= 40000000LL);
    SHOW("pid 0 thread clock: %d", ns(make(0, 2, 1)) >= 40000000LL);
    SHOW("prof clock: %d virt clock: %d", ns(make(0, 0, 0)) > 0, ns(make(0, 1, 0)) >= 0);
    SHOW("type 3: %lld", ns(make(0, 3, 0)));
    SHOW("unknown pid: %lld", ns(make(999999, 2, 0)));
    struct timespec res;
    CHECK(clock_getres(pc, &res));
    SHOW("res %ld.%09ld", (long)res.tv_sec, res.tv_nsec);
    CHECK(clock_getres(make(999999, 2, 0), &res));
    CHECK(clock_getres(10, &res));
    CHECK(clock_getres(CLOCK_MONOTONIC_RAW, NULL));

    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    clockid_t cc;
    CHECK(clock_getcpuclockid(child, &cc));
    SHOW("child process clock: %d", ns(cc) >= 0);
    SHOW("child thread clock: %lld", ns(make(child, 2, 1)));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK(clock_settime(CLOCK_REALTIME, &now));
    struct timespec bad = {now.tv_sec, 1000000000L};
    CHECK(clock_settime(CLOCK_REALTIME, &bad));
    CHECK(syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8));
    CHECK(clock_settime(CLOCK_MONOTONIC, &now));
    CHECK(clock_settime(CLOCK_BOOTTIME, &now));
    CHECK(clock_settime(CLOCK_PROCESS_CPUTIME_ID, &now));
    CHECK(clock_settime(pc, &now));
    CHECK(clock_settime(99, &now));
    struct timeval tv = {now.tv_sec, 0};
    CHECK(settimeofday(&tv, NULL));
    tv.tv_usec = 1000000;
    CHECK(settimeofday(&tv, NULL));
    CHECK(syscall(SYS_settimeofday, NULL, NULL));
    return 0;
}
