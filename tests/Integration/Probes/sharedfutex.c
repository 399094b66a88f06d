/* Futexes in shared memory (futex(2)): a waiter and a waker in different processes meet when
 * they name the same memory, whatever address each mapped it at (Linux keys shared futexes by
 * the file and the offset in it): a file mapped twice, a second page mapped on its own, a POSIX
 * semaphore with pshared in a file (what sem_open and Python's multiprocessing locks use), and a
 * MAP_SHARED|MAP_ANONYMOUS region whose mapping the waker split with mprotect. A FUTEX_PRIVATE_FLAG
 * wake from another process wakes nobody. argv[1]: a directory to create the file in. */
#include "probe.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static long futex(void *addr, int op, int val, const struct timespec *timeout)
{
    return syscall(SYS_futex, addr, op, val, timeout, 0, 0);
}

/* Forks a child that waits (10 s at most) on the word at offset `off` of the page-aligned region
 * map_child() returns; the parent waits until the child sleeps in the wait, then wakes `wake`. */
static void wait_in_child_wake_in_parent(const char *what, int *(*map_child)(void), int *wake, int wake_op)
{
    pid_t child = fork();
    if (child == 0) {
        int *w = map_child();
        struct timespec ten = {10, 0};
        long r = futex(w, FUTEX_WAIT, 0, &ten);
        printf("%s: child wait %s\n", what, r == 0 ? "woken" : strerrorname_np(errno));
        fflush(stdout);
        _exit(0);
    }
    probe_wait_sleeping(child);
    long woken = futex(wake, wake_op, 1, 0), second = 0;
    if (wake_op != FUTEX_WAKE)
        second = futex(wake, FUTEX_WAKE, 1, 0);   /* nobody was woken: wake the child for real */
    waitpid(child, 0, 0);   /* the child printed first */
    printf("%s: woke %ld", what, woken);
    if (wake_op != FUTEX_WAKE) printf(", then shared wake %ld", second);
    printf("\n");
    fflush(stdout);
}

static int file_fd;
static char *parent_map;

static int *map_whole_file(void)
{
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
    if (p == MAP_FAILED || p == parent_map) { SHOW("child mapping failed or at the parent's address"); _exit(1); }
    return (int *)p;
}

static int *map_second_page(void)
{
    char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 4096);
    if (p == MAP_FAILED) { SHOW("child mapping failed"); _exit(1); }
    return (int *)(p + 64);
}

static char *anon;

static int *anon_third_page(void) { return (int *)(anon + 8192); }

int main(int argc, char **argv)
{
    char path[256];
    snprintf(path, sizeof path, "%s/futexfile", argc > 1 ? argv[1] : "/tmp");
    file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(file_fd >= 0);
    CHECK(ftruncate(file_fd, 8192));
    parent_map = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
    CHECK(parent_map != MAP_FAILED);

    wait_in_child_wake_in_parent("file mapped twice", map_whole_file, (int *)parent_map, FUTEX_WAKE);
    wait_in_child_wake_in_parent("second page alone", map_second_page, (int *)(parent_map + 4096 + 64), FUTEX_WAKE);
    wait_in_child_wake_in_parent("private wake", map_whole_file, (int *)parent_map, FUTEX_WAKE | FUTEX_PRIVATE_FLAG);

    /* A process-shared semaphore in the file, posted by the parent while the child waits on its own mapping. */
    sem_t *sem = (sem_t *)(parent_map + 256);
    CHECK(sem_init(sem, 1, 0));
    pid_t child = fork();
    if (child == 0) {
        char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        long r = sem_timedwait((sem_t *)(p + 256), &deadline);
        printf("semaphore: child %s\n", r == 0 ? "acquired" : strerrorname_np(errno));
        fflush(stdout);
        _exit(0);
    }
    probe_wait_sleeping(child);
    long posted = sem_post(sem);
    waitpid(child, 0, 0);
    CHECK(posted);

    anon = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(anon != MAP_FAILED);
    CHECK(mprotect(anon, 4096, PROT_READ));   /* splits the parent's mapping */
    wait_in_child_wake_in_parent("anonymous shared, split", anon_third_page, (int *)(anon + 8192), FUTEX_WAKE);

    CHECK(unlink(path));
    return 0;
}
