/* System V semaphores and message queues: errors, values, blocking, undo, removal, permissions. */
#include "probe.h"
#include <signal.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

struct msg { long type; char text[64]; };

int main(void)
{
    /* keys are per IPC namespace; use one unlikely to exist on the host */
    key_t key = 0x5ca1ab1e;
    int old = semget(key, 0, 0);
    if (old >= 0) semctl(old, 0, IPC_RMID);
    old = msgget(key, 0);
    if (old >= 0) msgctl(old, IPC_RMID, NULL);

    CHECK(semget(IPC_PRIVATE, 0, 0600));
    CHECK(semget(IPC_PRIVATE, -1, 0600));
    CHECK(semget(IPC_PRIVATE, 40000, 0600));
    CHECK(semget(key, 1, 0600));
    int sid = semget(key, 3, IPC_CREAT | 0600);
    SHOW("semget ok %d", sid >= 0);
    CHECK(semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
    CHECK(semget(key, 4, 0600) == -1 ? -1 : 0);
    CHECK(semget(key, 2, 0600) == sid);
    CHECK(semget(key, 0, 0) == sid);

    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    CHECK(semctl(sid, 0, IPC_STAT, arg));
    SHOW("stat nsems %lu mode %o key-ok %d otime %ld", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777, ds.sem_perm.__key == key, (long)ds.sem_otime);
    CHECK(semctl(sid, 0, GETVAL));
    arg.val = 5;
    CHECK(semctl(sid, 1, SETVAL, arg));
    arg.val = 40000;
    CHECK(semctl(sid, 1, SETVAL, arg));
    arg.val = -1;
    CHECK(semctl(sid, 1, SETVAL, arg));
    CHECK(semctl(sid, 7, SETVAL, arg));
    CHECK(semctl(sid, 1, GETVAL));
    CHECK(semctl(sid, 0, 99));
    CHECK(semctl(sid + 1000000, 0, GETVAL));
    unsigned short all[3] = {1, 2, 3};
    arg.array = all;
    CHECK(semctl(sid, 0, SETALL, arg));
    memset(all, 0, sizeof all);
    CHECK(semctl(sid, 0, GETALL, arg));
    SHOW("all %u %u %u", all[0], all[1], all[2]);
    CHECK(semctl(sid, 2, GETPID) == getpid());

    struct sembuf op[2];
    CHECK(semop(sid, op, 0));
    CHECK(semop(sid, op, 600));
    CHECK(semop(sid, (struct sembuf *)8, 1));
    op[0] = (struct sembuf){5, 1, 0};
    CHECK(semop(sid, op, 1));
    op[0] = (struct sembuf){0, -1, 0};
    op[1] = (struct sembuf){1, -5, IPC_NOWAIT};
    CHECK(semop(sid, op, 2));
    SHOW("atomic: sem0 still %d", semctl(sid, 0, GETVAL));
    op[1] = (struct sembuf){1, -2, 0};
    CHECK(semop(sid, op, 2));
    SHOW("after: %d %d", semctl(sid, 0, GETVAL), semctl(sid, 1, GETVAL));
    op[0] = (struct sembuf){0, 0, IPC_NOWAIT};
    CHECK(semop(sid, op, 1));
    op[0] = (struct sembuf){2, 32767, 0};
    CHECK(semop(sid, op, 1));
    struct timespec ts = {0, 20 * 1000000};
    op[0] = (struct sembuf){1, -1, 0};
    op[1] = (struct sembuf){1, -1, 0};
    CHECK(semtimedop(sid, op, 2, &ts));

    /* a blocked semop woken by another process; GETNCNT while it waits */
    arg.val = 0;
    semctl(sid, 0, SETVAL, arg);
    pid_t child = fork();
    if (child == 0) {
        struct sembuf w = {0, -2, 0};
        int r = semop(sid, &w, 1);
        _exit(r == 0 ? 0 : 1);
    }
    for (int i = 0; i < 5000 && semctl(sid, 0, GETNCNT) == 0; i++) usleep(2000);
    SHOW("ncnt %d", semctl(sid, 0, GETNCNT));
    op[0] = (struct sembuf){0, 2, 0};
    CHECK(semop(sid, op, 1));
    int st;
    waitpid(child, &st, 0);
    SHOW("waiter exit %d value %d ncnt %d", WEXITSTATUS(st), semctl(sid, 0, GETVAL), semctl(sid, 0, GETNCNT));

    /* SEM_UNDO is applied when the process exits */
    child = fork();
    if (child == 0) {
        struct sembuf u = {0, 3, SEM_UNDO};
        semop(sid, &u, 1);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    SHOW("after undo %d", semctl(sid, 0, GETVAL));

    /* permissions for another user */
    child = fork();
    if (child == 0) {
        setgid(65534);
        setuid(65534);
        CHECK(semctl(sid, 0, GETVAL));
        CHECK(semget(key, 0, 0) == sid);
        CHECK(semget(key, 0, 0400));
        CHECK(semctl(sid, 0, IPC_RMID));
        CHECK(msgget(key, 0600));
        _exit(0);
    }
    waitpid(child, NULL, 0);

    /* removal wakes waiters with EIDRM (the value is 1 before the child waits for zero) */
    arg.val = 1;
    semctl(sid, 0, SETVAL, arg);
    child = fork();
    if (child == 0) {
        struct sembuf w = {0, 0, 0};
        CHECK(semop(sid, &w, 1));
        _exit(0);
    }
    for (int i = 0; i < 5000 && semctl(sid, 0, GETZCNT) == 0; i++) usleep(2000);
    long rm = semctl(sid, 0, IPC_RMID);
    waitpid(child, NULL, 0);
    probe_report("semctl(sid, 0, IPC_RMID) with a waiter", rm);
    CHECK(semctl(sid, 0, GETVAL));
    CHECK(semget(key, 1, 0));

    /* message queues */
    CHECK(msgget(key, 0600));
    int q = msgget(key, IPC_CREAT | 0600);
    SHOW("msgget ok %d", q >= 0);
    CHECK(msgget(key, IPC_CREAT | IPC_EXCL));
    struct msg m = {0, ""};
    CHECK(msgsnd(q, &m, 4, 0));
    m.type = 1;
    CHECK(msgsnd(q, &m, 9000, 0));
    CHECK(msgsnd(q + 1000000, &m, 4, 0));
    CHECK(msgsnd(q, (void *)8, 4, 0));
    const long types[] = {3, 1, 2, 1};
    const char *texts[] = {"three", "one", "two", "one-b"};
    for (int i = 0; i < 4; i++) {
        m.type = types[i];
        strcpy(m.text, texts[i]);
        CHECK(msgsnd(q, &m, strlen(texts[i]) + 1, 0));
    }
    struct msqid_ds mq;
    CHECK(msgctl(q, IPC_STAT, &mq));
    SHOW("qnum %lu cbytes %lu qbytes %lu lspid-ok %d", (unsigned long)mq.msg_qnum, (unsigned long)mq.__msg_cbytes,
         (unsigned long)mq.msg_qbytes, mq.msg_lspid == getpid());
    memset(&m, 0, sizeof m);
    CHECK(msgrcv(q, &m, sizeof m.text, 2, 0));
    SHOW("got type %ld [%s]", m.type, m.text);
    CHECK(msgrcv(q, &m, sizeof m.text, -2, 0));
    SHOW("got type %ld [%s]", m.type, m.text);
    CHECK(msgrcv(q, &m, sizeof m.text, 1, MSG_EXCEPT));
    SHOW("got type %ld [%s]", m.type, m.text);
    CHECK(msgrcv(q, &m, 2, 0, 0));
    CHECK(msgrcv(q, &m, 2, 0, MSG_NOERROR));
    SHOW("truncated type %ld [%.2s]", m.type, m.text);
    CHECK(msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT));
    CHECK(msgrcv(q, &m, -1, 0, 0));

    /* a blocked receiver, then a full queue */
    child = fork();
    if (child == 0) {
        struct msg r;
        long n = msgrcv(q, &r, sizeof r.text, 7, 0);
        printf("child received %ld type %ld [%s]\n", n, r.type, r.text);
        fflush(stdout);
        _exit(0);
    }
    probe_wait_sleeping(child);
    m.type = 7;
    strcpy(m.text, "seven");
    /* report after the child printed: its output and ours must not race */
    long sent = msgsnd(q, &m, 6, 0);
    waitpid(child, NULL, 0);
    probe_report("msgsnd(q, &m, 6, 0) to a blocked receiver", sent);
    mq.msg_qbytes = 10;
    CHECK(msgctl(q, IPC_SET, &mq));
    CHECK(msgsnd(q, &m, 6, IPC_NOWAIT));
    CHECK(msgsnd(q, &m, 6, IPC_NOWAIT));
    child = fork();
    if (child == 0) {
        struct msg r = {0, ""};
        CHECK(msgrcv(q, &r, sizeof r.text, 99, 0));
        _exit(0);
    }
    probe_wait_sleeping(child);
    rm = msgctl(q, IPC_RMID, NULL);
    waitpid(child, NULL, 0);
    probe_report("msgctl(q, IPC_RMID, NULL) with a waiter", rm);
    CHECK(msgctl(q, IPC_STAT, &mq));
    CHECK(msgctl(q, 99, &mq));
    return 0;
}
