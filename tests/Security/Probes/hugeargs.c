/*
 * Regressions from the syscall fuzzer: boundary values that made Sentry handlers throw.
 * - alarm(2) beyond 49.7 days and setitimer(2)/timerfd_settime(2)/timer_settime(2) with
 *   huge times (Threading.Timer refuses more than 2^32-2 ms): armed, reported as armed.
 * - mincore(2) with a length past the address space or overflowing: ENOMEM, never a huge
 *   Sentry buffer; an unmapped page: ENOMEM; a bad vector: EFAULT.
 * Prints comparable lines (errno names, "armed"/"disarmed"); identical natively and in runsc-net.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r == 0 ? "0" : errno == ENOMEM ? "ENOMEM" : errno == EFAULT ? "EFAULT" : errno == EINVAL ? "EINVAL" : strerror(errno); }

int main(void)
{
    printf("alarm(UINT_MAX) = %u\n", alarm(UINT_MAX));
    unsigned left = alarm(0);
    printf("alarm(0) after it: %s\n", left > UINT_MAX - 10 ? "about UINT_MAX" : "wrong");

    struct itimerval it = { { 0, 0 }, { LONG_MAX, 0 } }, old;
    printf("setitimer(LONG_MAX s) = %d\n", setitimer(ITIMER_REAL, &it, NULL));
    getitimer(ITIMER_REAL, &old);
    printf("getitimer: %s\n", old.it_value.tv_sec > 100L * 365 * 86400 ? "armed far" : "wrong");
    it.it_value.tv_sec = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    struct itimerval vt = { { LONG_MAX, 0 }, { LONG_MAX, 0 } };
    printf("setitimer(ITIMER_VIRTUAL, LONG_MAX s) = %d\n", setitimer(ITIMER_VIRTUAL, &vt, NULL));

    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec ts = { { LONG_MAX, 0 }, { LONG_MAX, 0 } }, tsold;
    printf("timerfd_settime(LONG_MAX s) = %d\n", timerfd_settime(tfd, 0, &ts, NULL));
    timerfd_gettime(tfd, &tsold);
    printf("timerfd_gettime: %s\n", tsold.it_value.tv_sec > 100L * 365 * 86400 ? "armed far" : "wrong");
    timer_t t;
    struct sigevent sev = { .sigev_notify = SIGEV_NONE };
    timer_create(CLOCK_MONOTONIC, &sev, &t);
    printf("timer_settime(LONG_MAX s) = %d\n", timer_settime(t, 0, &ts, NULL));

    unsigned char vec[16];
    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mincore(page, 4096) = %s\n", err(mincore(page, 4096, vec)));
    printf("mincore(page, huge) = %s\n", err(mincore(page, 1UL << 46, vec)));
    printf("mincore(page, -1) = %s\n", err(mincore(page, (size_t)-1, vec)));
    printf("mincore(page, -4096) = %s\n", err(mincore(page, (size_t)-4096, vec)));
    printf("mincore(kernel half) = %s\n", err(mincore((void *)0xffff800000000000UL, 4096, vec)));
    printf("mincore(page, 4096, bad vector) = %s\n", err(mincore(page, 4096, (unsigned char *)8)));
    munmap(page, 4096);
    printf("mincore(unmapped) = %s\n", err(mincore(page, 4096, vec)));
    printf("mincore(unaligned) = %s\n", err(mincore(page + 1, 4096, vec)));
    return 0;
}
