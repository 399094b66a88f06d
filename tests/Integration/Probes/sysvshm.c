/* System V shared memory: shmget/shmat/shmdt/shmctl, sharing between processes, removal. */
#include "probe.h"
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

int main(void)
{
    key_t key = 0x5ca1ab1f;
    int old = shmget(key, 0, 0);
    if (old >= 0) shmctl(old, IPC_RMID, NULL);

    CHECK(shmget(IPC_PRIVATE, 0, 0600));
    CHECK(shmget(key, 4096, 0600));
    int id = shmget(key, 10000, IPC_CREAT | 0600);
    SHOW("shmget ok %d", id >= 0);
    CHECK(shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
    CHECK(shmget(key, 20000, 0600));
    CHECK(shmget(key, 100, 0600) == id);

    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds));
    SHOW("segsz %zu nattch %lu mode %o cpid-ok %d lpid %d", ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode,
         ds.shm_cpid == getpid(), ds.shm_lpid);

    CHECK((long)shmat(id + 1000000, NULL, 0));
    CHECK((long)shmat(id, (void *)0x10001, 0));
    char *p = shmat(id, NULL, 0);
    SHOW("attached %d zero-filled %d", p != (void *)-1, p[0] == 0 && p[9999] == 0);
    strcpy(p, "written by the parent");
    CHECK(shmctl(id, IPC_STAT, &ds));
    SHOW("nattch %lu lpid-ok %d", (unsigned long)ds.shm_nattch, ds.shm_lpid == getpid());

    /* a second attachment in the same process sees the same bytes */
    char *q = shmat(id, NULL, SHM_RDONLY);
    SHOW("second attach differs %d same bytes [%s]", q != p, q);
    CHECK(shmctl(id, IPC_STAT, &ds));
    SHOW("nattch %lu", (unsigned long)ds.shm_nattch);
    CHECK(shmdt(q));
    CHECK(shmdt(q));
    CHECK(shmdt(p + 4096));

    /* another process attaches by id and writes */
    int pipefd[2];
    pipe(pipefd);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(pipefd[0], &c, 1);
        char *r = shmat(id, NULL, 0);
        if (r == (void *)-1) _exit(1);
        strcpy(r + 100, "and by the child");
        shmdt(r);
        _exit(0);
    }
    write(pipefd[1], "x", 1);
    int st;
    waitpid(child, &st, 0);
    SHOW("child exit %d parent reads [%s]", WEXITSTATUS(st), p + 100);

    /* fixed address: must not overlap, unless SHM_REMAP */
    char *fixed = (char *)0x7f0000000000UL;
    char *f = shmat(id, fixed, 0);
    SHOW("fixed at requested address %d [%s]", f == fixed, f == fixed ? f : "");
    CHECK((long)shmat(id, fixed, 0));
    CHECK(shmat(id, fixed, SHM_REMAP) == fixed);
    CHECK(shmdt(fixed));
    CHECK(shmat(id, fixed + 5, SHM_RND) == fixed);
    CHECK(shmdt(fixed));

    /* permissions for another user */
    child = fork();
    if (child == 0) {
        setgid(65534);
        setuid(65534);
        CHECK((long)shmat(id, NULL, 0));
        CHECK(shmctl(id, IPC_RMID, NULL));
        CHECK(shmget(key, 0, 0) == id);
        _exit(0);
    }
    waitpid(child, NULL, 0);

    /* IPC_RMID while attached: the key goes, the memory stays until the last detach */
    CHECK(shmctl(id, IPC_RMID, NULL));
    CHECK(shmget(key, 0, 0));
    CHECK(shmctl(id, IPC_STAT, &ds));
    SHOW("after rmid: key %d dest %d nattch %lu still [%s]", ds.shm_perm.__key, (ds.shm_perm.mode & SHM_DEST) != 0,
         (unsigned long)ds.shm_nattch, p);
    CHECK(shmdt(p));
    CHECK(shmctl(id, IPC_STAT, &ds));
    CHECK(shmctl(id, 99, &ds));
    return 0;
}
