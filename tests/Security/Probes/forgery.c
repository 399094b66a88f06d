/* Issue 10 item 1: forging the systrap shared page. The shared pages of the stub's thread slots
 * are mapped writable in the application; the Sentry must treat every value it reads there as
 * hostile. Usage: forgery MODE SECONDS (as root: it drops to uid 1000 without capabilities), or
 * forgery check (a harmless run, for exec). The container's first process forks the attacker,
 * reports its fate ("attacker: ..."), checks that it still works itself ("parent: ok"), prints
 * DONE and stays until killed, so the test can then use `state` and `exec`. The attacker prints
 * "LEAK ..." when a forged value took effect (its memory accesses went to another process).
 * Modes:
 *   thread  a scribbler thread writes 1 (the Sentry's pid in the sandbox) over the result word of
 *           slot 0 while its thread-clone command runs; the main thread creates raw threads that
 *           check that their memory is theirs (write a marker through a pipe and read it back)
 *   fork    the same over the fork command: the child's pid (1, and the real one +-1, 2, 3) and
 *           the stub's memfd number (0..3, -1); the forked children check their memory
 *   storm   scribblers write hostile values (1, 0, -1, small numbers, the observed ones +-1)
 *           into every field of every mapped slot (state, nr, args, result, sentry pid, alive,
 *           the fd channel's scratch area) while workers create threads, fork, exec, mmap a
 *           tmpfs file shared and read and write it */
#include "stubattack.h"
#include <pthread.h>
#include <sched.h>

#define MAX_RAW 8
#define RAW_STACK 0x4000

static int g_pipe[2];
static volatile int g_stop;
static volatile long g_leaks;
/* Reports a forged value that took effect (the first few in full, then only counted). */
#define LEAK(fmt, ...) do { if (g_leaks++ < 3) SAY("LEAK: " fmt, ##__VA_ARGS__); } while (0)

static char g_marker[16] = "runsc-net-mark!";
static char g_buf[MAX_RAW][16];
static volatile int g_done[MAX_RAW];
static volatile long g_result[MAX_RAW];
static char g_stacks[MAX_RAW][RAW_STACK] __attribute__((aligned(16)));

/* Memory check of the calling task, raw system calls only (no TLS): 0 when the task's memory
 * accesses reach its own memory, else the failing call's result. Buffers are in .data / .bss at
 * low addresses (0x4xxxxx) that the Sentry, a PIE, does not map: a redirected copy faults. */
static long memory_is_mine(int i)
{
    for (int k = 0; k < 16; k++) g_buf[i][k] = 0;
    long w = rsys(SYS_write, g_pipe[1], (long)g_marker, 16, 0, 0, 0);
    if (w != 16) return w == 0 ? -1000 : w;
    long r = rsys(SYS_read, g_pipe[0], (long)g_buf[i], 16, 0, 0, 0);
    if (r != 16) return r == 0 ? -1001 : r;
    for (int k = 0; k < 16; k++)
        if (g_buf[i][k] != g_marker[k]) return -1002;
    return 0;
}

/* Entry of a raw thread (index in rdi): check, publish, exit the thread. */
__attribute__((noreturn, used)) static void raw_thread_main(long i)
{
    g_result[i] = memory_is_mine((int)i);
    __atomic_store_n(&g_done[i], 1, __ATOMIC_SEQ_CST);
    for (;;) rsys(SYS_exit, 0, 0, 0, 0, 0, 0);
}

/* clone(flags, stack) whose child calls raw_thread_main(i) on that stack; returns the tid or -errno. */
long raw_clone(long flags, void *stack_top, long i);
__asm__(".text\n.globl raw_clone\nraw_clone:\n"
        "  mov %rdx, -8(%rsi)\n"         /* the index, on the new stack */
        "  sub $16, %rsi\n"
        "  mov $56, %eax\n"
        "  xor %edx, %edx\n"
        "  xor %r10d, %r10d\n"
        "  xor %r8d, %r8d\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  mov 8(%rsp), %rdi\n"
        "  call raw_thread_main\n"
        "1: ret\n");

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

/* One raw thread; reports a leak. Returns 0, or -1 when it could not be created or did not finish. */
static int one_raw_thread(int i)
{
    g_done[i] = 0;
    long tid = raw_clone(THREAD_FLAGS, g_stacks[i] + RAW_STACK, i);
    if (tid < 0) return -1;
    double end = now_s() + 2;
    while (!__atomic_load_n(&g_done[i], __ATOMIC_SEQ_CST)) {
        if (now_s() > end) {
            LEAK("raw thread %d did not finish (its host tid forged?)", i);
            return -1;
        }
        sched_yield();
    }
    if (g_result[i] != 0) {
        LEAK("a new thread's memory accesses went elsewhere (result %ld)", g_result[i]);
    }
    return 0;
}

/* ---- scribblers ---- */

static long g_seen_pid;   /* a real value the stub stored, observed by a scribbler */

static void *thread_scribbler(void *arg)
{
    (void)arg;
    volatile unsigned char *p = SLOT_PAGE(0);
    while (!g_stop) {
        if (F32(p, OFF_STATE) != ST_THREAD) continue;
        /* The clone runs: overwrite the result with 1 until well after the report. */
        while (F32(p, OFF_STATE) == ST_THREAD) F64(p, OFF_RESULT) = 1;
        for (int k = 0; k < 20000; k++) F64(p, OFF_RESULT) = 1;
    }
    return NULL;
}

static void *fork_scribbler(void *arg)
{
    (void)arg;
    volatile unsigned char *p = SLOT_PAGE(0);
    unsigned n = 0;
    while (!g_stop) {
        if (F32(p, OFF_STATE) != ST_FORK) continue;
        long pids[] = { 1, g_seen_pid - 1, g_seen_pid + 1, 2, 3 };
        long fds[] = { 0, 1, 2, 3, -1 };
        long pid = pids[n % 5], fd = fds[(n / 5) % 5];
        n++;
        if (pid <= 0) pid = 1;
        while (F32(p, OFF_STATE) == ST_FORK) {
            long real = F64(p, OFF_RESULT);
            if (real > 3 && real < 4194304 && real != pid) g_seen_pid = real;
            F64(p, OFF_RESULT) = pid;
            F64(p, OFF_ARGS) = fd;
        }
        for (int k = 0; k < 20000; k++) {
            F64(p, OFF_RESULT) = pid;
            F64(p, OFF_ARGS) = fd;
        }
    }
    return NULL;
}

/* SIGSEGV guard for storm scribblers: a slot that is not (or no longer) mapped. */
static __thread sigjmp_buf *t_guard;
static void on_segv(int sig)
{
    if (t_guard) siglongjmp(*t_guard, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void *storm_scribbler(void *arg)
{
    long seed = (long)arg;
    static const int fields64[] = { OFF_NR, OFF_ARGS, OFF_ARGS + 8, OFF_ARGS + 16, OFF_ARGS + 24, OFF_ARGS + 32,
                                    OFF_ARGS + 40, OFF_RESULT, OFF_SCRATCH, OFF_SCRATCH + 0x70, OFF_SCRATCH + 0x80 };
    static const int fields32[] = { OFF_STATE, OFF_SENTRY_PID, OFF_ALIVE, OFF_SCRATCH, OFF_SCRATCH + 4,
                                    OFF_SCRATCH + 0x78, OFF_SCRATCH + 0x7c, OFF_SCRATCH + 0x80, OFF_STUB_SLEEPING };
    sigjmp_buf jb;
    unsigned long n = (unsigned long)seed * 7919;
    while (!g_stop) {
        for (int slot = 0; slot < 16 && !g_stop; slot++) {
            volatile unsigned char *p = SLOT_PAGE(slot);
            t_guard = &jb;
            if (sigsetjmp(jb, 1) != 0) continue;
            for (int k = 0; k < 64; k++, n++) {
                long real = F64(p, OFF_RESULT);
                long vals[] = { 1, 0, -1, 2, 3, real + 1, real - 1, g_seen_pid, 4, 5 };
                long v = vals[n % 10];
                F64(p, fields64[n % 11]) = v;
                /* The state word: a forged "reported" or a host-call command, rarely (it makes
                 * only this process's own hand-offs go wrong). */
                int f = fields32[(n / 10) % 9];
                if (f != OFF_STATE || (n & 0xff) == 0) F32(p, f) = (int32_t)(f == OFF_STATE ? (n & 0x100 ? ST_REPORTED : ST_HOSTCALL) : v);
            }
            t_guard = NULL;
        }
    }
    return NULL;
}

/* ---- workers ---- */

static void attack_threads(double end)
{
    long made = 0, failed = 0;
    while (now_s() < end) {
        if (one_raw_thread((int)(made % MAX_RAW)) == 0) made++;
        else failed++;
    }
    SAY("attacker: %ld threads made, %ld failed", made, failed);
}

static void attack_forks(double end)
{
    long made = 0;
    while (now_s() < end) {
        pid_t pid = fork();
        if (pid == 0) _exit(memory_is_mine(0) == 0 ? 0 : 42);
        if (pid < 0) continue;
        made++;
        int st;
        double wend = now_s() + 3;
        while (waitpid(pid, &st, WNOHANG) != pid) {
            if (now_s() > wend) {
                LEAK("a forked child did not finish (a forged pid adopted?)");
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                break;
            }
            usleep(1000);
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 42) {
            LEAK("a forked child's memory accesses went elsewhere");
        }
    }
    SAY("attacker: %ld forks made", made);
}

static void *storm_threads(void *arg)
{
    double end = *(double *)arg;
    while (now_s() < end && !g_stop) one_raw_thread(1);
    return NULL;
}

static void *storm_forks(void *arg)
{
    double end = *(double *)arg;
    while (now_s() < end && !g_stop) {
        pid_t pid = fork();
        if (pid == 0) {
            if (memory_is_mine(2) != 0) _exit(42);
            execl("/probe/forgery", "forgery", "quiet", (char *)NULL);
            _exit(43);
        }
        if (pid < 0) continue;
        int st;
        double wend = now_s() + 3;
        while (waitpid(pid, &st, WNOHANG) != pid && now_s() < wend) usleep(1000);
        if (now_s() >= wend) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 42) {
            LEAK("a forked child's memory accesses went elsewhere");
        }
    }
    return NULL;
}

static void *storm_files(void *arg)
{
    double end = *(double *)arg;
    int fd = open("/tmp/storm", O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 0x4000) != 0) return NULL;
    char buf[64];
    while (now_s() < end && !g_stop) {
        void *m = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            ((volatile char *)m)[0x100] = 'x';
            munmap(m, 0x4000);
        }
        if (pwrite(fd, "data", 4, 0) < 0 || pread(fd, buf, sizeof buf, 0) < 0) { /* errors are allowed */ }
    }
    close(fd);
    return NULL;
}

static void attacker(const char *mode, double seconds)
{
    if (pipe(g_pipe) != 0) exit(2);
    double end = now_s() + seconds;
    pthread_t s[3];
    if (strcmp(mode, "thread") == 0) {
        pthread_create(&s[0], NULL, thread_scribbler, NULL);
        attack_threads(end);
    } else if (strcmp(mode, "fork") == 0) {
        pthread_create(&s[0], NULL, fork_scribbler, NULL);
        attack_forks(end);
    } else {
        struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        pthread_t w[3];
        pthread_create(&w[0], NULL, storm_threads, &end);
        pthread_create(&w[1], NULL, storm_forks, &end);
        pthread_create(&w[2], NULL, storm_files, &end);
        for (long i = 0; i < 2; i++) pthread_create(&s[i], NULL, storm_scribbler, (void *)i);
        while (now_s() < end) usleep(10000);
        SAY("attacker: storm over");
    }
    g_stop = 1;
    SAY("attacker: leaks %ld", g_leaks);
    _exit(g_leaks ? 42 : 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "quiet") == 0) return 0;
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        SAY("check ok uid %d", (int)getuid());
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: forgery thread|fork|storm SECONDS | forgery check\n");
        return 2;
    }
    if (getuid() == 0) drop_to_user();
    double seconds = atof(argv[2]);
    SAY("uid %d mode %s", (int)getuid(), argv[1]);
    /* Attackers one after the other until the time is up (an attacker that wrecks its own
     * process dies early; the next one goes on). */
    double total_end = now_s() + seconds;
    int rounds = 0;
    while (rounds == 0 || now_s() < total_end - 0.2) {
        double left = total_end - now_s();
        pid_t pid = fork();
        if (pid == 0) attacker(argv[1], left > 0.2 ? left : 0.2);
        rounds++;
        int st = 0;
        double end = now_s() + left + 15;
        const char *fate = NULL;
        while (waitpid(pid, &st, WNOHANG) != pid) {
            if (now_s() > end) {
                kill(pid, SIGKILL);
                double kend = now_s() + 5;
                while (waitpid(pid, &st, WNOHANG) != pid && now_s() < kend) usleep(10000);
                fate = now_s() >= kend ? "hung (not even SIGKILL ended it)" : "hung (killed)";
                break;
            }
            usleep(10000);
        }
        if (rounds > 5) continue;
        if (fate) SAY("attacker: %s", fate);
        else if (WIFSIGNALED(st)) SAY("attacker: killed by signal %d", WTERMSIG(st));
        else SAY("attacker: exited %d", WEXITSTATUS(st));
        if (fate) break;
    }
    SAY("attacker rounds: %d", rounds);

    /* The untouched parent goes on: fork, exec, a file in /tmp. */
    int ok = 1, st = 0;
    pid_t c = fork();
    if (c == 0) {
        execl("/probe/forgery", "forgery", "quiet", (char *)NULL);
        _exit(1);
    }
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = 0;
    int fd = open("/tmp/parent-file", O_CREAT | O_RDWR | O_TRUNC, 0600);
    char buf[5] = { 0 };
    if (fd < 0 || write(fd, "alive", 5) != 5 || pread(fd, buf, 5, 0) != 5 || memcmp(buf, "alive", 5) != 0) ok = 0;
    SAY("parent: %s", ok ? "ok" : "BROKEN");
    SAY("DONE");
    sleep(120);   /* the test kills the container long before */
    return 0;
}
