/* Checkpoint/restore probe for memfds: a sealed memfd (F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL)
 * with 10000 bytes and its offset at 5000, a second unsealed one holding a page of zeros and a
 * line, each with a name; "ready", SIGUSR1, then what they hold and what the seals allow. Every
 * line is the same whether or not the process was checkpointed and restored while it waited. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

int main(void) {
    signal(SIGUSR1, on_usr1);
    int a = memfd_create("sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    int b = memfd_create("plain", 0);
    if (a < 0 || b < 0) return 1;
    char buf[10000];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (char)('a' + i % 26);
    if (write(a, buf, sizeof buf) != (ssize_t)sizeof buf) return 2;
    if (lseek(a, 5000, SEEK_SET) != 5000) return 3;
    if (fcntl(a, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return 4;
    if (pwrite(b, "tail line\n", 10, 4096) != 10) return 5;
    printf("ready\n");
    fflush(stdout);
    while (!go) pause();

    struct stat st;
    fstat(a, &st);
    char got[20] = {0};
    ssize_t n = read(a, got, 10);
    printf("sealed: size %ld mode %o read %zd \"%s\" offset %ld seals %#x cloexec %d\n", (long)st.st_size, st.st_mode & 0777, n, got,
           (long)lseek(a, 0, SEEK_CUR), fcntl(a, F_GET_SEALS), (fcntl(a, F_GETFD) & FD_CLOEXEC) != 0);
    printf("sealed: grow %s, shrink %s, add seal %s, overwrite %s\n",
           write(a, buf, 1) >= 0 && lseek(a, 0, SEEK_END) == 10000 && pwrite(a, "x", 1, 10000) < 0 && errno == EPERM ? "refused" : "allowed",
           ftruncate(a, 10) < 0 && errno == EPERM ? "refused" : "allowed",
           fcntl(a, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM ? "refused" : "allowed",
           pwrite(a, "Z", 1, 0) == 1 ? "allowed" : "refused");
    char link[64] = {0};
    char path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", b);
    readlink(path, link, sizeof link - 1);
    fstat(b, &st);
    char zero[4096], line[11] = {0};
    pread(b, zero, sizeof zero, 0);
    int zeros = 1;
    for (int i = 0; i < (int)sizeof zero; i++) zeros &= zero[i] == 0;
    pread(b, line, 10, 4096);
    printf("plain: %s size %ld zeros %d line %s", link, (long)st.st_size, zeros, line);
    printf("plain: seals %#x\n", fcntl(b, F_GET_SEALS));
    fflush(stdout);
    return 0;
}
