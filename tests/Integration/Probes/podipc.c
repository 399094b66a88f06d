/* SysV message queue across the containers of a pod: "send KEY TEXT" queues TEXT on the queue
 * of KEY (creating it), "recv KEY" prints the first message and removes the queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct message {
    long type;
    char text[256];
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: podipc send KEY TEXT | recv KEY\n");
        return 2;
    }
    key_t key = (key_t)atoi(argv[2]);
    struct message m = {1, {0}};
    if (strcmp(argv[1], "send") == 0 && argc == 4) {
        int id = msgget(key, IPC_CREAT | 0600);
        if (id < 0) { perror("msgget"); return 1; }
        strncpy(m.text, argv[3], sizeof m.text - 1);
        if (msgsnd(id, &m, strlen(m.text) + 1, 0) < 0) { perror("msgsnd"); return 1; }
        return 0;
    }
    if (strcmp(argv[1], "recv") == 0) {
        int id = msgget(key, 0);
        if (id < 0) { perror("msgget"); return 1; }
        if (msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT) < 0) { perror("msgrcv"); return 1; }
        printf("%s\n", m.text);
        msgctl(id, IPC_RMID, NULL);
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
