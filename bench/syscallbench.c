// Per-system-call cost probe for bench/compare.sh: runs one operation N times inside a
// container and prints "<name> <ns-per-op>" (or MiB/s for the *-mib modes). Built static so it needs nothing from the rootfs.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static char buf[65536];

// threads N: start N threads that each block until all exist, then release and join them all.
// Prints ns per thread (create + start + join); a sandbox must hold N live threads at once.
static pthread_barrier_t all_started;
static void *blocked_thread(void *arg) {
    (void)arg;
    pthread_barrier_wait(&all_started);
    return NULL;
}

static int threads(long n) {
    pthread_t *t = calloc(n, sizeof *t);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_barrier_init(&all_started, NULL, n + 1);
    double start = now_ns();
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], &attr, blocked_thread, NULL) != 0) { fprintf(stderr, "pthread_create %ld failed\n", i); return 1; }
    pthread_barrier_wait(&all_started);
    for (long i = 0; i < n; i++) pthread_join(t[i], NULL);
    printf("threads-%ld %.0f\n", n, (now_ns() - start) / n);
    free(t);
    return 0;
}

// open-files N: open N distinct rootfs files (/bench/files/fK, made by compare.sh) and keep them
// all open at once, then close them. Prints ns per file (open + close). Needs RLIMIT_NOFILE > N.
static int open_files(long n) {
    int *fds = calloc(n, sizeof *fds);
    char path[64];
    double start = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/bench/files/f%ld", i);
        if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) { perror(path); return 1; }
    }
    for (long i = 0; i < n; i++) close(fds[i]);
    printf("open-files-%ld %.0f\n", n, (now_ns() - start) / n);
    free(fds);
    return 0;
}

static int run(const char *name, long n) {
    int p[2], fd = -1;
    if (!strcmp(name, "threads")) return threads(n);
    if (!strcmp(name, "open-files")) return open_files(n);
    if (!strcmp(name, "pread64k")) {
        fd = open("/bench/pread.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf) { perror("setup"); return 1; }
    }
    if (!strcmp(name, "pipe") && pipe(p) < 0) { perror("pipe"); return 1; }
    double start = now_ns();
    int once = !strcmp(name, "seqread-mib") || !strcmp(name, "tmpfswrite-mib");
    for (long i = 0; i < (once ? 1 : n); i++) {
        if (!strcmp(name, "getpid")) {
            syscall(SYS_getpid);
        } else if (!strcmp(name, "stat")) {
            struct stat st;
            if (stat("/bin/sh", &st) < 0) { perror("stat"); return 1; }
        } else if (!strcmp(name, "open-close")) {
            int f = open("/bin/sh", O_RDONLY);
            if (f < 0) { perror("open"); return 1; }
            close(f);
        } else if (!strcmp(name, "pipe")) {
            if (write(p[1], buf, 64) != 64 || read(p[0], buf, 64) != 64) { perror("pipe io"); return 1; }
        } else if (!strcmp(name, "pread64k")) {
            if (pread(fd, buf, sizeof buf, 0) != sizeof buf) { perror("pread"); return 1; }
        } else if (!strcmp(name, "mmap")) {
            char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) { perror("mmap"); return 1; }
            for (int off = 0; off < (1 << 20); off += 4096) m[off] = 1;
            munmap(m, 1 << 20);
        } else if (!strcmp(name, "fork")) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            if (pid < 0 || waitpid(pid, NULL, 0) != pid) { perror("fork"); return 1; }
        } else if (!strcmp(name, "fork-exec")) {
            pid_t pid = fork();
            if (pid == 0) { execl("/bin/true", "true", (char *)NULL); _exit(127); }
            int status;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) { fprintf(stderr, "fork-exec failed\n"); return 1; }
        } else if (!strcmp(name, "seqread-mib")) {
            // n MiB read sequentially from /bench/big.bin in 1 MiB reads (file throughput).
            static char big[1 << 20];
            int f = open("/bench/big.bin", O_RDONLY);
            if (f < 0) { perror("open big.bin"); return 1; }
            long total = 0; ssize_t r;
            while (total < n * (1L << 20) && (r = read(f, big, sizeof big)) > 0) total += r;
            close(f);
            double mibs = total / (1024.0 * 1024.0) / ((now_ns() - start) / 1e9);
            printf("%s %.0f\n", name, mibs);
            return 0;
        } else if (!strcmp(name, "tmpfswrite-mib")) {
            static char big[1 << 20];
            int f = open("/tmp/bench.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (f < 0) { perror("open /tmp/bench.out"); return 1; }
            for (long k = 0; k < n; k++)
                if (write(f, big, sizeof big) != sizeof big) { perror("write"); return 1; }
            close(f);
            unlink("/tmp/bench.out");
            double mibs = n / ((now_ns() - start) / 1e9);
            printf("%s %.0f\n", name, mibs);
            return 0;
        } else {
            fprintf(stderr, "unknown benchmark %s\n", name);
            return 2;
        }
    }
    double per = (now_ns() - start) / n;
    printf("%s %.0f\n", name, per);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s NAME COUNT...\n", argv[0]); return 2; }
    for (int i = 1; i + 1 < argc; i += 2) {
        int rc = run(argv[i], atol(argv[i + 1]));
        if (rc) return rc;
    }
    return 0;
}
