/* ipcs [-m] [-q] [-s]: the System V IPC objects of the caller's IPC namespace, in util-linux's
   layout, found with the IPC_INFO and STAT commands (no /proc/sysvipc needed). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

union semun_arg { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *info; };

static const char *owner(unsigned uid) {
    static char num[16];
    static char line[512];
    FILE *f = fopen("/etc/passwd", "r");   /* no NSS: a static program cannot load its modules */
    while (f && fgets(line, sizeof line, f)) {
        char *name = strtok(line, ":"), *pw = strtok(NULL, ":"), *id = strtok(NULL, ":");
        if (name && pw && id && (unsigned)strtoul(id, NULL, 10) == uid) { fclose(f); return name; }
    }
    if (f) fclose(f);
    snprintf(num, sizeof num, "%u", uid);
    return num;
}

static void shm(void) {
    struct shm_info info;
    int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
    printf("\n------ Shared Memory Segments --------\n");
    printf("%-10s %-10s %-10s %-10s %-10s %-10s %-12s\n", "key", "shmid", "owner", "perms", "bytes", "nattch", "status");
    for (int i = 0; i <= max; i++) {
        struct shmid_ds ds;
        int id = shmctl(i, SHM_STAT, &ds);
        if (id < 0) continue;
        printf("0x%08x %-10d %-10s %-10o %-10lu %-10lu %s%s\n", (unsigned)ds.shm_perm.__key, id,
               owner(ds.shm_perm.uid), ds.shm_perm.mode & 0777, (unsigned long)ds.shm_segsz,
               (unsigned long)ds.shm_nattch, ds.shm_perm.mode & SHM_DEST ? "dest " : "",
               ds.shm_perm.mode & SHM_LOCKED ? "locked" : "");
    }
    printf("\n");
}

static void msq(void) {
    struct msginfo info;
    int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
    printf("\n------ Message Queues --------\n");
    printf("%-10s %-10s %-10s %-10s %-12s %-12s\n", "key", "msqid", "owner", "perms", "used-bytes", "messages");
    for (int i = 0; i <= max; i++) {
        struct msqid_ds ds;
        int id = msgctl(i, MSG_STAT, &ds);
        if (id < 0) continue;
        printf("0x%08x %-10d %-10s %-10o %-12lu %-12lu\n", (unsigned)ds.msg_perm.__key, id,
               owner(ds.msg_perm.uid), ds.msg_perm.mode & 0777, (unsigned long)ds.__msg_cbytes,
               (unsigned long)ds.msg_qnum);
    }
    printf("\n");
}

static void sem(void) {
    struct seminfo info;
    union semun_arg arg = { .info = &info };
    int max = semctl(0, 0, SEM_INFO, arg);
    printf("\n------ Semaphore Arrays --------\n");
    printf("%-10s %-10s %-10s %-10s %-10s\n", "key", "semid", "owner", "perms", "nsems");
    for (int i = 0; i <= max; i++) {
        struct semid_ds ds;
        arg.buf = &ds;
        int id = semctl(i, 0, SEM_STAT, arg);
        if (id < 0) continue;
        printf("0x%08x %-10d %-10s %-10o %-10lu\n", (unsigned)ds.sem_perm.__key, id,
               owner(ds.sem_perm.uid), ds.sem_perm.mode & 0777, (unsigned long)ds.sem_nsems);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    int m = 0, q = 0, s = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m")) m = 1;
        else if (!strcmp(argv[i], "-q")) q = 1;
        else if (!strcmp(argv[i], "-s")) s = 1;
        else if (!strcmp(argv[i], "-a")) m = q = s = 1;
        else { fprintf(stderr, "usage: ipcs [-a] [-m] [-q] [-s]\n"); return 1; }
    }
    if (!m && !q && !s) m = q = s = 1;
    if (m) shm();
    if (q) msq();
    if (s) sem();
    return 0;
}
