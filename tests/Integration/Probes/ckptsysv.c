/* SysV IPC across a checkpoint: a semaphore set with values and SEM_UNDO adjustments (the
 * parent's and a child's), a message queue holding two messages, a shared memory segment with
 * contents attached in the parent and (fork-copied) in the child, and a segment removed while
 * attached. Prints "ready", waits for SIGUSR1, then prints what it finds. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

static volatile sig_atomic_t go;
static void on_usr1(int s) { (void)s; go = 1; }

struct message { long type; char text[64]; };

int main(void) {
    signal(SIGUSR1, on_usr1);
    /* A set made and removed first: the IDs that follow are not the first ones. */
    int junk = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    semctl(junk, 0, IPC_RMID);
    int sem = semget(0x5eed, 3, IPC_CREAT | 0640);
    unsigned short vals[3] = {1, 5, 9};
    union semun arg = {.array = vals};
    if (sem < 0 || semctl(sem, 0, SETALL, arg) != 0) return 2;
    struct sembuf op = {1, -2, SEM_UNDO};
    if (semop(sem, &op, 1) != 0) return 3;
    int msq = msgget(0x3a3a, IPC_CREAT | 0620);
    struct message m = {7, "seven"};
    if (msq < 0 || msgsnd(msq, &m, 6, 0) != 0) return 4;
    m.type = 3;
    strcpy(m.text, "three!");
    if (msgsnd(msq, &m, 7, 0) != 0) return 5;
    int shm = shmget(0x5a5a, 3 * 4096 + 100, IPC_CREAT | 0600);
    char *p = shmat(shm, NULL, 0);
    if (shm < 0 || p == (void *)-1) return 6;
    strcpy(p, "hello shm");
    strcpy(p + 2 * 4096 + 50, "third page");
    int pp[2];
    if (pipe(pp) != 0) return 7;
    pid_t child = fork();
    if (child == 0) {
        struct sembuf c = {2, -4, SEM_UNDO};
        if (semop(sem, &c, 1) != 0) _exit(1);
        char b;
        if (read(pp[0], &b, 1) != 1) _exit(2);
        p[100] = 'C';   /* through the attachment fork copied */
        _exit(0);
    }
    while (semctl(sem, 2, GETVAL) != 5) usleep(1000);
    struct semid_ds sds;
    union semun sarg = {.buf = &sds};
    semctl(sem, 0, IPC_STAT, sarg);
    time_t semctime = sds.sem_ctime;
    struct shmid_ds shds;
    shmctl(shm, IPC_STAT, &shds);
    time_t shmctime = shds.shm_ctime;
    int gone = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    char *g = shmat(gone, NULL, 0);
    if (gone < 0 || g == (void *)-1) return 8;
    strcpy(g, "removed but attached");
    shmctl(gone, IPC_RMID, NULL);
    printf("ready\n");
    fflush(stdout);
    while (!go) pause();

    printf("ids: sem %d msg %d shm %d gone %d\n", sem, msq, shm, gone);
    printf("sem values %d %d %d, by key %d\n", semctl(sem, 0, GETVAL), semctl(sem, 1, GETVAL), semctl(sem, 2, GETVAL), semget(0x5eed, 0, 0) == sem);
    semctl(sem, 0, IPC_STAT, sarg);
    printf("sem mode %o nsems %lu ctime kept %d otime set %d\n", sds.sem_perm.mode & 0777, (unsigned long)sds.sem_nsems, sds.sem_ctime == semctime, sds.sem_otime != 0);
    struct sembuf wouldblock = {1, -4, IPC_NOWAIT};
    printf("semop -4 on 3: %d\n", semop(sem, &wouldblock, 1));
    if (write(pp[1], "x", 1) != 1) return 9;
    int status;
    waitpid(child, &status, 0);
    printf("child exited %d; its undo applied: sem 2 = %d\n", WEXITSTATUS(status), semctl(sem, 2, GETVAL));
    struct msqid_ds mds;
    msgctl(msq, IPC_STAT, &mds);
    printf("msg qnum %lu cbytes %lu mode %o\n", (unsigned long)mds.msg_qnum, (unsigned long)mds.__msg_cbytes, mds.msg_perm.mode & 0777);
    long n = msgrcv(msq, &m, sizeof m.text, -5, IPC_NOWAIT);
    printf("msgrcv -5: %ld %ld %s\n", n, m.type, m.text);
    n = msgrcv(msq, &m, sizeof m.text, 0, IPC_NOWAIT);
    printf("msgrcv 0: %ld %ld %s\n", n, m.type, m.text);
    printf("msgrcv empty: %ld\n", msgrcv(msq, &m, sizeof m.text, 0, IPC_NOWAIT));
    shmctl(shm, IPC_STAT, &shds);
    printf("shm \"%s\" \"%s\" child wrote %c, size %lu nattch %lu ctime kept %d mode %o\n", p, p + 2 * 4096 + 50, p[100],
        (unsigned long)shds.shm_segsz, (unsigned long)shds.shm_nattch, shds.shm_ctime == shmctime, shds.shm_perm.mode & 0777);
    printf("shm by key %d\n", shmget(0x5a5a, 0, 0) == shm);
    struct shmid_ds gds;
    int r = shmctl(gone, IPC_STAT, &gds);
    printf("gone \"%s\" stat %d dest %d key %d\n", g, r, (gds.shm_perm.mode & SHM_DEST) != 0, gds.shm_perm.__key);
    shmdt(g);
    printf("gone after detach: %d\n", shmctl(gone, IPC_STAT, &gds));
    int next = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    printf("next semaphore id %d\n", next);
    fflush(stdout);
    return 0;
}
