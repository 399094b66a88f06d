/* Checkpoint/restore probe for inotify: a watch on a tmpfs directory (/dev/shm/w: IN_CREATE,
 * IN_DELETE) with one event queued and unread, and a one-shot IN_OPEN watch on a file of a bind
 * mount; "ready", SIGUSR1, then more events and a new watch (its wd follows the saved ones), and
 * every event read. Every line is the same whether or not it was checkpointed and restored. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

int main(void) {
    signal(SIGUSR1, on_usr1);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in < 0 || mkdir("/dev/shm/w", 0755) != 0) return 1;
    int w1 = inotify_add_watch(in, "/dev/shm/w", IN_CREATE | IN_DELETE);
    int w2 = inotify_add_watch(in, "/probe/ckptinotifyq", IN_OPEN | IN_ONESHOT);
    close(open("/dev/shm/w/before", O_CREAT | O_WRONLY, 0644));
    printf("ready %d %d\n", w1, w2);
    fflush(stdout);
    while (!go) pause();

    close(open("/dev/shm/w/after", O_CREAT | O_WRONLY, 0644));
    unlink("/dev/shm/w/before");
    close(open("/probe/ckptinotifyq", O_RDONLY));
    printf("new wd %d flags %#x\n", inotify_add_watch(in, "/dev/shm", IN_ATTRIB), fcntl(in, F_GETFL) & O_NONBLOCK);
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n = read(in, buf, sizeof buf);
    for (char *p = buf; n > 0 && p < buf + n;) {
        struct inotify_event *e = (struct inotify_event *)p;
        printf("event wd %d mask %#x name %s\n", e->wd, e->mask, e->len ? e->name : "-");
        p += sizeof *e + e->len;
    }
    printf("again %zd\n", read(in, buf, sizeof buf));
    fflush(stdout);
    return 0;
}
