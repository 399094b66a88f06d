/*
 * Syscall fuzzer: makes random x86-64 system calls with random and boundary arguments, to
 * show that the Sentry survives any input (no crash, no hang, no handler exception).
 *
 * usage: fuzz [SEED [SECONDS [FIRST_WORKER]]]   (SEED 0 or absent: from the clock)
 *        FUZZ_TRACE=1 in the environment prints every call to stderr before it is made.
 *
 * Process layout: this program (the container's init) is a supervisor that never makes a
 * random call. It forks one worker at a time; worker W seeds its generator from (SEED, W), so
 * a worker's sequence of calls is reproducible from the printed seed and its index. A worker
 * makes CALLS_PER_WORKER calls and exits; the supervisor kills it (and its process group)
 * when it takes longer than WORKER_TIMEOUT_MS (a call that blocks with signals blocked, a
 * stopped worker...), and fails when even SIGKILL does not end it (a Sentry hang).
 * Children made by a fuzzed fork/clone exit at once (the tid check after each call).
 *
 * Not made: exit/exit_group (end the worker: wasteful), vfork, pause, rt_sigsuspend (wait
 * for a signal: wasteful), reboot. Everything else, with the arguments below.
 *
 * Arguments: 0, -1, small ints, INT_MIN/MAX and other boundaries, random 64-bit values, random
 * flag bits; pointers into the worker's own buffers (random bytes, or "pointer soup": words
 * that are themselves pointers and lengths, so iovecs and msghdrs lead somewhere), page-crossing
 * pointers at the end of a buffer followed by a PROT_NONE page, a read-only page, unmapped
 * addresses, the kernel half and non-canonical addresses; fds: the worker's own (pipes,
 * sockets, eventfd, epoll, timerfd, signalfd, memfd, inotify, files, directories, pidfd, pty)
 * and -1, AT_FDCWD, out-of-range numbers; paths from a pool of real and odd names.
 * Output: lines starting with "fuzz:" (the workers write to /dev/null).
 * Exit status: 0 when the supervisor ran its time; 2 when a worker could not be killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NR 470             /* a little past the highest x86-64 number (467 in Linux 6.15) */
#define CALLS_PER_WORKER 400
#define WORKER_TIMEOUT_MS 3000
#define KILL_TIMEOUT_MS 10000
#define PAGE 4096UL

/* --- the generator: xorshift64*, state in a global (the worker must not need TLS: a fuzzed
 * arch_prctl(ARCH_SET_FS) may break it) --- */
static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}
static uint64_t mix(uint64_t seed, uint64_t w)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (w + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (z ^ (z >> 31)) | 1;
}

static inline long raw6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define raw0(n) raw6((n), 0, 0, 0, 0, 0, 0)

/* --- the worker's memory, mapped by the supervisor before any fork (same addresses in every worker) --- */
#define RW_SIZE (256 * 1024)
#define SOUP_SIZE (64 * 1024)
static unsigned char *buf_rw, *buf_soup, *buf_guard_end, *buf_ro, *hole;
static char *paths[32];
static int npaths;
/* The call in progress, shared with the supervisor (reported when it has to kill a worker). */
struct last_call { volatile long worker, nr, args[6], calls; };
static struct last_call *last;

static int fds[48];
static int nfds;

static const uint64_t boundaries[] = {
    0x7fffffffULL, 0xffffffff80000000ULL, 0x80000000ULL, 0xffffffffULL, 0x100000000ULL,
    0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xfffffffffffff000ULL, 4096, 4095, 4097,
    1ULL << 40, 0x7fffffffffffULL, 0x7ffffffff000ULL, 65536, 65535, 0xffff, 0xfffe, 1 << 20, 16 << 20,
    0x7fffffff - 1, 255, 256, 1024, 1025, 0xffffffffffffff9cULL /* AT_FDCWD */,
};

static uint64_t pick_pointer(void)
{
    switch (rnd() % 10) {
    case 0: case 1: case 2: return (uint64_t)(buf_rw + rnd() % RW_SIZE);
    case 3: case 4: return (uint64_t)(buf_soup + (rnd() % (SOUP_SIZE / 8)) * 8);
    case 5: return (uint64_t)(buf_guard_end - rnd() % 128);          /* crosses into PROT_NONE */
    case 6: return (uint64_t)(buf_ro + rnd() % PAGE);
    case 7: return (uint64_t)(hole + rnd() % (16 * PAGE));            /* unmapped */
    case 8: return 0xffff800000000000ULL + (rnd() & 0x7fffffffffffULL); /* kernel half */
    default: return rnd() % 3 == 0 ? 0x0000800000000000ULL + rnd() % PAGE /* non-canonical */ : rnd() % 0x10000;
    }
}

static uint64_t pick_fd(void)
{
    switch (rnd() % 8) {
    case 0: return (uint64_t)(int64_t)-1;
    case 1: return (uint64_t)(int64_t)-100; /* AT_FDCWD */
    case 2: return rnd() % 1100;
    default: return (uint64_t)fds[rnd() % nfds];
    }
}

static uint64_t pick_flags(void)
{
    uint64_t v = 0;
    int n = 1 + rnd() % 4;
    for (int i = 0; i < n; i++) v |= 1ULL << (rnd() % (rnd() % 2 ? 32 : 64));
    return v;
}

static uint64_t pick_any(void)
{
    switch (rnd() % 16) {
    case 0: return 0;
    case 1: return (uint64_t)-1;
    case 2: case 3: return rnd() % 16;
    case 4: return rnd() % 4097;
    case 5: case 6: return boundaries[rnd() % (sizeof boundaries / sizeof boundaries[0])];
    case 7: return rnd();
    case 8: case 9: case 10: return pick_pointer();
    case 11: case 12: return pick_fd();
    case 13: return (uint64_t)paths[rnd() % npaths];
    case 14: return pick_flags();
    default: return (uint64_t)(int64_t)(int32_t)rnd(); /* a random int, sign-extended */
    }
}

static void fill_soup(void)
{
    for (size_t i = 0; i < RW_SIZE; i++) buf_rw[i] = (unsigned char)rnd();
    uint64_t *w = (uint64_t *)buf_soup;
    for (size_t i = 0; i < SOUP_SIZE / 8; i++) {
        switch (rnd() % 4) {
        case 0: w[i] = pick_pointer(); break;
        case 1: w[i] = rnd() % 4097; break;
        case 2: w[i] = rnd() % 64; break;
        default: w[i] = pick_any(); break;
        }
    }
    for (size_t i = 0; i < PAGE; i++) buf_guard_end[-(long)PAGE + (long)i] = (unsigned char)rnd();
}

static void add_fd(int fd)
{
    if (fd >= 0 && nfds < (int)(sizeof fds / sizeof fds[0])) fds[nfds++] = fd;
}

/* The worker's own files, opened before the first random call. */
static void open_fds(void)
{
    int p[2];
    nfds = 0;
    for (int i = 0; i < 3; i++) add_fd(i);
    if (pipe2(p, O_NONBLOCK) == 0) { add_fd(p[0]); add_fd(p[1]); }
    if (pipe(p) == 0) { add_fd(p[0]); add_fd(p[1]); }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0) { add_fd(p[0]); add_fd(p[1]); }
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, p) == 0) { add_fd(p[0]); add_fd(p[1]); }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, p) == 0) { add_fd(p[0]); add_fd(p[1]); }
    add_fd(eventfd(1, EFD_NONBLOCK));
    add_fd(epoll_create1(0));
    add_fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    add_fd(signalfd(-1, &set, SFD_NONBLOCK));
    add_fd((int)syscall(SYS_memfd_create, "fuzz", 0));
    add_fd(inotify_init1(IN_NONBLOCK));
    add_fd(open("/tmp/fuzzfile", O_RDWR | O_CREAT, 0644));
    add_fd(open("/", O_RDONLY | O_DIRECTORY));
    add_fd(open("/tmp", O_RDONLY | O_DIRECTORY));
    add_fd(open("/proc/self/maps", O_RDONLY));
    add_fd(open("/proc/self", O_PATH));
    add_fd(open("/etc/passwd", O_RDONLY));
    add_fd(open("/dev/zero", O_RDWR));
    add_fd(open("/dev/ptmx", O_RDWR | O_NOCTTY));
    add_fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    add_fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    add_fd(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0));
    add_fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    add_fd(socket(AF_NETLINK, SOCK_RAW, 0));
    add_fd((int)syscall(SYS_pidfd_open, getpid(), 0));
}

/* Calls that would only end or idle the worker. */
static int skipped(long nr)
{
    switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_vfork: case SYS_pause: case SYS_rt_sigsuspend:
    case SYS_reboot:
        return 1;
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo:
    case SYS_pidfd_send_signal:
        return rnd() % 4 != 0; /* a signal often ends the worker: make fewer */
    default:
        return 0;
    }
}

static void trace_call(long w, long nr, const uint64_t *a)
{
    char line[256];
    int n = snprintf(line, sizeof line, "fuzz: worker %ld: syscall %ld (0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx)\n",
                     w, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    raw6(SYS_write, 1000, (long)line, n, 0, 0, 0);
}

static void on_alarm(int sig) { (void)sig; }

static void __attribute__((noreturn)) worker(uint64_t seed, long w, int trace)
{
    rng = mix(seed, (uint64_t)w);
    setpgid(0, 0);
    if (trace) dup2(2, 1000);
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++) dup2(null, i);
    if (null > 2) close(null);
    /* Blocking calls end: SIGALRM every 200 ms without SA_RESTART (the fuzz may undo this: the supervisor's timeout remains). */
    signal(SIGPIPE, SIG_IGN);
    open_fds();
    fill_soup();
    /* A real handler (an ignored signal would not interrupt a sleep). */
    struct sigaction al;
    memset(&al, 0, sizeof al);
    al.sa_handler = on_alarm;
    sigaction(SIGALRM, &al, NULL);
    struct itimerval it = { { 0, 200000 }, { 0, 200000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    long self_tid = raw0(SYS_gettid), self_pid = raw0(SYS_getpid);
    for (int i = 0; i < CALLS_PER_WORKER; i++) {
        long nr;
        uint64_t r = rnd() % 100;
        if (r < 96) nr = (long)(rnd() % MAX_NR);
        else if (r < 98) nr = MAX_NR + (long)(rnd() % 600);
        else nr = (long)boundaries[rnd() % (sizeof boundaries / sizeof boundaries[0])] | (rnd() % 2 ? 0x40000000 : 0);
        if (skipped(nr)) continue;
        uint64_t a[6];
        for (int k = 0; k < 6; k++) a[k] = pick_any();
        /* Most fd calls take the fd first, most path calls the path second: bias those. */
        if (rnd() % 3 == 0) a[0] = pick_fd();
        if (rnd() % 5 == 0) a[1] = (uint64_t)paths[rnd() % npaths];
        /* prlimit64 on the supervisor could give it RLIMIT_CPU 0: keep it on the worker. */
        if (nr == SYS_prlimit64 && (int)a[0] == 1) a[0] = 0;
        last->worker = w;
        last->nr = nr;
        for (int k = 0; k < 6; k++) last->args[k] = (long)a[k];
        last->calls++;
        if (trace) trace_call(w, nr, a);
        raw6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
        /* A child of a fuzzed fork/clone: leave (a thread with exit, a process with exit_group). */
        if (raw0(SYS_gettid) != self_tid) {
            if (raw0(SYS_getpid) == self_pid) for (;;) raw6(SYS_exit, 0, 0, 0, 0, 0, 0);
            for (;;) raw6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
        }
    }
    last->nr = -1;
    for (;;) raw6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
}

static void *map(size_t len, int prot)
{
    void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("fuzz: mmap"); exit(1); }
    return p;
}

static void setup_memory(void)
{
    buf_rw = map(RW_SIZE, PROT_READ | PROT_WRITE);
    buf_soup = map(SOUP_SIZE, PROT_READ | PROT_WRITE);
    unsigned char *g = map(3 * PAGE, PROT_READ | PROT_WRITE);
    mprotect(g + 2 * PAGE, PAGE, PROT_NONE);
    buf_guard_end = g + 2 * PAGE;
    buf_ro = map(PAGE, PROT_READ | PROT_WRITE);
    for (size_t i = 0; i < PAGE; i++) buf_ro[i] = (unsigned char)(i * 7 + 1);
    mprotect(buf_ro, PAGE, PROT_READ);
    hole = map(16 * PAGE, PROT_READ);
    munmap(hole, 16 * PAGE);
    last = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (last == MAP_FAILED) { perror("fuzz: mmap shared"); exit(1); }
    static const char *const names[] = {
        "/", ".", "..", "", "/tmp", "/tmp/fuzzfile", "/tmp/fuzzdir", "/tmp/fuzzdir/x", "/tmp/fuzzlink",
        "/proc/self/maps", "/proc/self/status", "/proc/self/fd/0", "/proc/self/fd/5", "/proc/self/exe",
        "/proc/1/status", "/proc/self/mem", "/proc/sys/kernel/hostname", "/dev/null", "/dev/zero",
        "/dev/full", "/dev/urandom", "/dev/ptmx", "/dev/tty", "/dev/shm/fuzz", "/etc/passwd", "/bin/sh",
        "/nonexistent/x", "/etc/passwd/x", "/proc/self/cwd/tmp", "fuzz", "/sys/fs/cgroup",
    };
    npaths = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) paths[npaths++] = (char *)names[i];
    /* A path longer than PATH_MAX, ending right before the guard page (no NUL in reach). */
    memset(buf_guard_end - 2 * PAGE, 'a', 2 * PAGE);
    paths[npaths++] = (char *)(buf_guard_end - 2 * PAGE);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
    long seconds = argc > 2 ? strtol(argv[2], NULL, 0) : 10;
    long first = argc > 3 ? strtol(argv[3], NULL, 0) : 0;
    int trace = getenv("FUZZ_TRACE") != NULL;
    if (seed == 0) seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("fuzz: seed %llu seconds %ld first worker %ld\n", (unsigned long long)seed, seconds, first);
    mkdir("/tmp/fuzzdir", 0755);
    /* Not dumpable: a worker (same uid) then has no ptrace access to the supervisor, so a fuzzed
     * pidfd_getfd or prlimit cannot take its stdout or limit it. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    setup_memory();
    long deadline = now_ms() + seconds * 1000L, workers = 0, killed = 0, by_signal = 0;
    long signals[65] = { 0 };
    long w = first;
    while (now_ms() < deadline) {
        pid_t pid = fork();
        if (pid < 0) { sleep_ms(10); continue; }
        if (pid == 0) worker(seed, w, trace);
        workers++;
        long start = now_ms();
        int status = 0, sent = 0;
        for (;;) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid) break;
            if (r < 0) { printf("fuzz: waitpid: %s\n", strerror(errno)); return 1; }
            long waited = now_ms() - start;
            if (waited > WORKER_TIMEOUT_MS && !sent) {
                sent = 1;
                killed++;
                if (trace) printf("fuzz: worker %ld timed out in syscall %ld\n", w, last->nr);
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
            }
            if (waited > WORKER_TIMEOUT_MS + KILL_TIMEOUT_MS) {
                printf("fuzz: FAIL worker %ld (pid %d) survives SIGKILL for %d ms; in syscall %ld (0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx)\n",
                       w, pid, KILL_TIMEOUT_MS, last->nr, last->args[0], last->args[1], last->args[2],
                       last->args[3], last->args[4], last->args[5]);
                return 2;
            }
            sleep_ms(waited < 50 ? 1 : 10);
        }
        if (WIFSIGNALED(status)) {
            by_signal++;
            signals[WTERMSIG(status) & 63]++;
            if (trace) printf("fuzz: worker %ld died by signal %d after syscall %ld\n", w, WTERMSIG(status), last->nr);
        }
        /* Reap whatever the worker left (grandchildren re-parented to init), and its group. */
        kill(-pid, SIGKILL);
        while (waitpid(-1, NULL, WNOHANG) > 0) {}
        w++;
    }
    kill(-1, SIGKILL);
    long end = now_ms();
    while (waitpid(-1, NULL, WNOHANG) >= 0 && now_ms() - end < KILL_TIMEOUT_MS) sleep_ms(10);
    printf("fuzz: done seed %llu workers %ld (next %ld) calls %ld killed-after-timeout %ld died-by-signal %ld\n",
           (unsigned long long)seed, workers, w, last->calls, killed, by_signal);
    printf("fuzz: signals:");
    for (int i = 0; i < 65; i++) if (signals[i]) printf(" %d:%ld", i, signals[i]);
    printf("\n");
    return 0;
}
