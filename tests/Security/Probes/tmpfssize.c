/* tmpfs limits: "size DIR" fills DIR (a tmpfs of size=64m) with 1 MiB + 100 byte writes until it
 * is full, then tries fallocate, a sparse ftruncate, an overwrite, and reads statfs before and
 * after; "inodes DIR" creates files in DIR (nr_inodes=16) until that fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>

static void fs(const char *dir, const char *when)
{
    struct statfs s;
    if (statfs(dir, &s) < 0) { printf("statfs: %s\n", strerrorname_np(errno)); return; }
    printf("statfs %s: bsize %ld blocks %lu free %lu avail %lu\n", when, (long)s.f_bsize,
           (unsigned long)s.f_blocks, (unsigned long)s.f_bfree, (unsigned long)s.f_bavail);
}

static int size_test(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/big", dir);
    fs(dir, "empty");
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) { printf("open: %s\n", strerrorname_np(errno)); return 1; }
    size_t chunk = (1 << 20) + 100;
    char *buf = malloc(chunk);
    memset(buf, 'x', chunk);
    long long total = 0;
    for (int i = 0; i < 200; i++) {
        ssize_t n = write(fd, buf, chunk);
        if (n < 0) { printf("write %d: %s after %lld bytes\n", i, strerrorname_np(errno), total); break; }
        if ((size_t)n < chunk) printf("write %d: short, %zd bytes\n", i, n);
        total += n;
    }
    fs(dir, "full");
    ssize_t again = pwrite(fd, buf, 4096, 0);
    printf("overwrite of allocated data: %zd\n", again);
    snprintf(path, sizeof path, "%s/more", dir);
    int fd2 = open(path, O_CREAT | O_RDWR, 0600);
    printf("fallocate 1 MiB: %s\n", fallocate(fd2, 0, 0, 1 << 20) < 0 ? strerrorname_np(errno) : "ok");
    printf("ftruncate 1 GiB (sparse): %s\n", ftruncate(fd2, 1LL << 30) < 0 ? strerrorname_np(errno) : "ok");
    printf("write into the sparse file: %s\n", pwrite(fd2, buf, 10, 4096) < 0 ? strerrorname_np(errno) : "ok");
    close(fd2);
    unlink(path);
    close(fd);
    snprintf(path, sizeof path, "%s/big", dir);
    unlink(path);
    fs(dir, "emptied");
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    printf("fallocate 8 MiB after emptying: %s\n", fallocate(fd, 0, 0, 8 << 20) < 0 ? strerrorname_np(errno) : "ok");
    fs(dir, "after fallocate");
    close(fd);
    unlink(path);
    return 0;
}

static int inodes_test(const char *dir)
{
    char path[4096];
    int i;
    for (i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        if (fd < 0) { printf("create %d: %s\n", i, strerrorname_np(errno)); break; }
        close(fd);
    }
    struct statfs s;
    statfs(dir, &s);
    printf("files %lu free %lu\n", (unsigned long)s.f_files, (unsigned long)s.f_ffree);
    snprintf(path, sizeof path, "%s/f0", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/again", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    printf("create after unlink: %s\n", fd < 0 ? strerrorname_np(errno) : "ok");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "size") == 0) return size_test(argv[2]);
    if (argc == 3 && strcmp(argv[1], "inodes") == 0) return inodes_test(argv[2]);
    fprintf(stderr, "usage: tmpfssize size|inodes DIR\n");
    return 2;
}
