/* Checkpoint refusal probe: holds an epoll fd (which cannot be saved yet) and sleeps. */
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

int main(void) {
    int ep = epoll_create1(0);
    if (ep < 0) return 1;
    printf("ready %d\n", ep);
    fflush(stdout);
    for (;;) sleep(1);
}
