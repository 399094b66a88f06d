/* Checkpoint/restore probe: two threads count; main counts, reads one byte of a file open at
 * an offset and one byte of a pipe written at start (unread data) per line, and calls
 * clock_gettime (the vDSO) every time. Each line shows what a restore must have kept. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void nap(void) {
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (long i = 0;; i++) {
        printf("t%ld %ld\n", id, i);
        fflush(stdout);
        nap();
    }
    return NULL;
}

int main(int argc, char **argv) {
    int file = open(argv[0], O_RDONLY);
    if (file < 0 || lseek(file, 1000, SEEK_SET) != 1000) return 1;
    int p[2];
    if (pipe(p) != 0) return 2;
    const char *letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz";
    if (write(p[1], letters, strlen(letters)) != (ssize_t)strlen(letters)) return 3;
    pthread_t a, b;
    pthread_create(&a, NULL, worker, (void *)1);
    pthread_create(&b, NULL, worker, (void *)2);
    for (long i = 0;; i++) {
        struct timespec now;
        if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return 4;
        char byte, c;
        if (read(file, &byte, 1) != 1) return 5;
        if (read(p[0], &c, 1) != 1) return 6;
        printf("m %ld %ld %c\n", i, (long)lseek(file, 0, SEEK_CUR), c);
        fflush(stdout);
        nap();
    }
}
