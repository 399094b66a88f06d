/* POSIX threads exercised in the sandbox (and natively, for the same output).
 * Built static by build-threads.sh: gcc -static -pthread -O2 threads.c -o threads.
 * usage: threads MODE   (counter, pingpong, exitgroup, kill, tkill, proc, execthread, mainexit) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* counter: 8 threads each add 1 to a mutex-protected counter 100000 times. */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static pid_t seen_pid[8], seen_tid[8];

static void *count_up(void *arg)
{
    long i = (long)arg;
    seen_pid[i] = getpid();
    seen_tid[i] = gettid_();
    for (int n = 0; n < 100000; n++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
    }
    return (void *)(i * 10);
}

static int mode_counter(void)
{
    pthread_t t[8];
    for (long i = 0; i < 8; i++)
        if (pthread_create(&t[i], NULL, count_up, (void *)i) != 0) { perror("pthread_create"); return 1; }
    long sum = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    int same_pid = 1, distinct_tid = 1;
    for (int i = 0; i < 8; i++) {
        if (seen_pid[i] != getpid()) same_pid = 0;
        if (seen_tid[i] == getpid()) distinct_tid = 0;
        for (int j = 0; j < i; j++) if (seen_tid[i] == seen_tid[j]) distinct_tid = 0;
    }
    printf("counter %ld\n", counter);
    printf("join results %ld\n", sum);
    printf("getpid same in every thread: %s\n", same_pid ? "yes" : "no");
    printf("gettid distinct: %s\n", distinct_tid ? "yes" : "no");
    return 0;
}

/* pingpong: two threads take turns through a condition variable. */
static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn, pp_count, pp_errors;
enum { Rounds = 2000 };

static void *pp_player(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < Rounds; i++) {
        pthread_mutex_lock(&pp_lock);
        while (pp_turn != me) pthread_cond_wait(&pp_cond, &pp_lock);
        if (pp_count % 2 != me) pp_errors++;
        pp_count++;
        pp_turn = 1 - me;
        pthread_cond_broadcast(&pp_cond);
        pthread_mutex_unlock(&pp_lock);
    }
    return NULL;
}

static int mode_pingpong(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, pp_player, (void *)0L);
    pthread_create(&b, NULL, pp_player, (void *)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("pingpong %d turns, %d out of order\n", pp_count, pp_errors);
    return 0;
}

/* exitgroup: threads block in futex waits while another calls exit(3) (exit_group). */
static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static sem_t started;

static void *block_forever(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&block_lock);
    sem_post(&started);
    for (;;) pthread_cond_wait(&block_cond, &block_lock);
    return NULL;
}

static void *exit_all(void *arg)
{
    (void)arg;
    printf("thread calls exit(3)\n");
    fflush(stdout);
    exit(3);
}

static int mode_exitgroup(void)
{
    sem_init(&started, 0, 0);
    pthread_t t;
    for (int i = 0; i < 3; i++) {
        pthread_create(&t, NULL, block_forever, NULL);
        sem_wait(&started);
    }
    pthread_create(&t, NULL, exit_all, NULL);
    for (;;) pause();
    return 0;
}

/* kill: a child process whose threads block is killed; a non-main thread of the parent waits for it. */
static pid_t victim;
static void *reap_victim(void *arg)
{
    int status;
    pid_t r = waitpid(victim, &status, 0);
    *(int *)arg = status;
    return (void *)(long)(r == victim);
}

static int mode_kill(void)
{
    int ready[2];
    if (pipe(ready) != 0) return 1;
    victim = fork();
    if (victim == 0) {
        sem_init(&started, 0, 0);
        pthread_t t;
        for (int i = 0; i < 4; i++) {
            pthread_create(&t, NULL, block_forever, NULL);
            sem_wait(&started);
        }
        if (write(ready[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char c;
    if (read(ready[0], &c, 1) != 1) return 1;
    printf("child threads blocked\n");
    kill(victim, SIGTERM);
    int status = 0;
    pthread_t w;
    void *ok;
    pthread_create(&w, NULL, reap_victim, &status);
    pthread_join(w, &ok);
    printf("reaped by a thread: %s\n", ok ? "yes" : "no");
    if (WIFSIGNALED(status)) printf("child killed by signal %d\n", WTERMSIG(status));
    else printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}

/* tkill: pthread_kill reaches the one thread it names, interrupting its futex wait. */
static volatile pid_t handler_tid;
static sem_t never;
static sem_t target_ready, target_done;
static void on_usr1(int sig) { (void)sig; handler_tid = gettid_(); }

static void *target(void *arg)
{
    *(pid_t *)arg = gettid_();
    sem_post(&target_ready);
    int r = sem_wait(&never);
    int e = errno;
    printf("target's sem_wait: %s\n", r == -1 && e == EINTR ? "EINTR" : "other");
    sem_post(&target_done);
    return NULL;
}

static void *bystander(void *arg)
{
    (void)arg;
    sem_wait(&never);
    return NULL;
}

static int mode_tkill(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sem_init(&never, 0, 0);
    sem_init(&target_ready, 0, 0);
    sem_init(&target_done, 0, 0);
    pthread_t by1, by2, tg;
    pid_t target_tid = 0;
    pthread_create(&by1, NULL, bystander, NULL);
    pthread_create(&tg, NULL, target, &target_tid);
    pthread_create(&by2, NULL, bystander, NULL);
    sem_wait(&target_ready);
    /* the target may not be in sem_wait yet: signal again until its wait was interrupted */
    for (;;) {
        pthread_kill(tg, SIGUSR1);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
        if (sem_timedwait(&target_done, &ts) == 0) break;
    }
    pthread_join(tg, NULL);
    printf("handler ran in the target thread: %s\n", handler_tid == target_tid ? "yes" : "no");
    return 0;
}

/* proc: /proc/self/task lists every thread, /proc/self/status counts them. */
static pthread_barrier_t barrier;
static void *wait_barrier(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static int mode_proc(void)
{
    pthread_barrier_init(&barrier, NULL, 4);
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, wait_barrier, NULL);
    pthread_barrier_wait(&barrier);
    int tasks = 0, self = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        tasks++;
        if (atoi(e->d_name) == getpid()) self = 1;
    }
    if (d) closedir(d);
    int threads = -1;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) if (strncmp(line, "Threads:", 8) == 0) threads = atoi(line + 8);
    if (f) fclose(f);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("task entries %d, leader listed: %s, Threads: %d\n", tasks, self ? "yes" : "no", threads);
    return 0;
}

/* execthread: a non-main thread execs; the new image keeps the process ID. */
static char pidarg[32];
static char *self_path;
static void *do_exec(void *arg)
{
    (void)arg;
    char *argv[] = { self_path, "afterexec", pidarg, NULL };
    execv(self_path, argv);
    perror("execv");
    exit(1);
}

static int mode_execthread(void)
{
    snprintf(pidarg, sizeof pidarg, "%d", getpid());
    sem_init(&started, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, block_forever, NULL);
    sem_wait(&started);
    pthread_create(&t, NULL, do_exec, NULL);
    for (;;) pause();
    return 0;
}

/* mainexit: the main thread ends with pthread_exit; the process lives on in its other thread. */
static pid_t main_pid;
static void *outlive_main(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    printf("worker outlived main, same pid: %s\n", getpid() == main_pid ? "yes" : "no");
    return NULL;
}

static int mode_mainexit(void)
{
    main_pid = getpid();
    pthread_t t;
    pthread_create(&t, NULL, outlive_main, NULL);
    printf("main thread exits\n");
    pthread_exit(NULL);
}

static int mode_afterexec(const char *pid)
{
    printf("after exec: same pid %s, tid == pid %s\n", atoi(pid) == getpid() ? "yes" : "no",
           gettid_() == getpid() ? "yes" : "no");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    self_path = argv[0];
    const char *mode = argc > 1 ? argv[1] : "counter";
    if (!strcmp(mode, "counter")) return mode_counter();
    if (!strcmp(mode, "pingpong")) return mode_pingpong();
    if (!strcmp(mode, "exitgroup")) return mode_exitgroup();
    if (!strcmp(mode, "kill")) return mode_kill();
    if (!strcmp(mode, "tkill")) return mode_tkill();
    if (!strcmp(mode, "proc")) return mode_proc();
    if (!strcmp(mode, "execthread")) return mode_execthread();
    if (!strcmp(mode, "mainexit")) return mode_mainexit();
    if (!strcmp(mode, "afterexec") && argc > 2) return mode_afterexec(argv[2]);
    fprintf(stderr, "usage: threads counter|pingpong|exitgroup|kill|tkill|proc|execthread|mainexit\n");
    return 2;
}
