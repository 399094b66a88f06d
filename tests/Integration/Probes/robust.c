/* Robust mutexes (set_robust_list(2)): a lock held by a thread or process that ends — by exit,
 * by a signal, by execve — passes to the next locker with EOWNERDEAD, also to a waiter already
 * blocked on it; an inconsistent mutex unlocked without pthread_mutex_consistent becomes
 * ENOTRECOVERABLE. argv[1] == "exec-holding": lock the shared mutex at fd 3's mapping and execve. */
#include "probe.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static pthread_mutex_t *shared_mutex(void)
{
    pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    return m;
}

static pthread_mutex_t thread_mutex;

static void *lock_and_leave(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&thread_mutex);
    return NULL;
}

static const char *name(int r)
{
    return r == 0 ? "0" : strerrorname_np(r);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-holding") == 0) {
        /* the new image never unlocks: the lock died with the old one */
        pause();
        return 0;
    }
    /* a thread ends holding the lock */
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&thread_mutex, &a);
    pthread_t th;
    pthread_create(&th, NULL, lock_and_leave, NULL);
    pthread_join(th, NULL);
    SHOW("lock after the owner thread ended: %s", name(pthread_mutex_lock(&thread_mutex)));
    SHOW("consistent: %s", name(pthread_mutex_consistent(&thread_mutex)));
    SHOW("unlock: %s", name(pthread_mutex_unlock(&thread_mutex)));
    SHOW("lock again: %s", name(pthread_mutex_lock(&thread_mutex)));
    pthread_mutex_unlock(&thread_mutex);

    /* a process exits holding a shared lock */
    pthread_mutex_t *m = shared_mutex();
    pid_t c = fork();
    if (c == 0) {
        pthread_mutex_lock(m);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    SHOW("lock after the owner process exited: %s", name(pthread_mutex_lock(m)));
    /* unlocked without being made consistent: unusable from now on */
    pthread_mutex_unlock(m);
    SHOW("lock of the abandoned mutex: %s", name(pthread_mutex_lock(m)));

    /* a waiter already blocked is woken when the owner is killed */
    m = shared_mutex();
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        pthread_mutex_lock(m);
        write(p[1], "l", 1);
        pause();
        _exit(0);
    }
    char x;
    read(p[0], &x, 1);
    pid_t waiter = fork();
    if (waiter == 0) {
        int r = pthread_mutex_lock(m);
        SHOW("blocked waiter woke with: %s", name(r));
        if (r == EOWNERDEAD) pthread_mutex_consistent(m);
        pthread_mutex_unlock(m);
        _exit(0);
    }
    probe_wait_sleeping(waiter);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    waitpid(waiter, NULL, 0);
    SHOW("lock after the waiter made it consistent: %s", name(pthread_mutex_lock(m)));
    pthread_mutex_unlock(m);

    /* execve ends the image that held the lock */
    m = shared_mutex();
    c = fork();
    if (c == 0) {
        pthread_mutex_lock(m);
        execl("/proc/self/exe", argv[0], "exec-holding", (char *)NULL);
        _exit(1);
    }
    /* the child sleeps in pause() once exec'd; until then the lock is busy */
    for (int i = 0; i < 2500; i++) {
        char path[64], buf[256] = "";
        snprintf(path, sizeof path, "/proc/%d/cmdline", c);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        if (n > 0 && memmem(buf, n, "exec-holding", 12) != NULL) break;
        usleep(2000);
    }
    probe_wait_sleeping(c);
    SHOW("lock after the owner exec'd: %s", name(pthread_mutex_lock(m)));
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);

    long head = 0;
    size_t len = 0;
    CHECK(syscall(SYS_get_robust_list, 0, &head, &len));
    SHOW("own robust list set %d len %zu", head != 0, len);
    CHECK(syscall(SYS_set_robust_list, head, len + 1));
    return 0;
}
