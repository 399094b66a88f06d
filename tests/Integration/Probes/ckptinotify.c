/* Checkpoint refusal probe: holds an inotify fd watching a /proc file (which cannot be saved yet) and sleeps. */
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(void) {
    int in = inotify_init1(0);
    if (in < 0 || inotify_add_watch(in, "/proc/self/status", IN_ACCESS) < 0) return 1;
    printf("ready %d\n", in);
    fflush(stdout);
    for (;;) sleep(1);
}
