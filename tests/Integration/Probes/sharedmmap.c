/* Shared and private file mappings (mmap(2)): writes through a MAP_SHARED mapping reach the
 * file and a forked child's writes reach the parent; a MAP_PRIVATE mapping is a private copy;
 * write(2) shows through a shared mapping; the access-mode rules of mmap and mprotect hold.
 * argv[1]: a directory to create the file in. */
#include "probe.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    char path[256];
    snprintf(path, sizeof path, "%s/mapped", argc > 1 ? argv[1] : "/tmp");
    int fd = CHECK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600) >= 0);
    fd = open(path, O_RDWR);
    CHECK(ftruncate(fd, 8192));
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    strcpy(p, "written-through-mapping");
    char buf[64] = {0};
    CHECK(pread(fd, buf, 23, 0));
    SHOW("read back: %s", buf);
    pid_t child = fork();
    if (child == 0) {
        strcpy(p + 4096, "from-child");
        _exit(0);
    }
    waitpid(child, 0, 0);
    SHOW("parent sees: %s", p + 4096);
    CHECK(pwrite(fd, "via-write", 9, 100));
    SHOW("mapping sees: %.9s", p + 100);
    char *q = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(q != MAP_FAILED);
    q[0] = 'X';
    SHOW("private copy: %.7s shared: %.7s", q, p);
    CHECK(msync(p, 8192, MS_SYNC));
    CHECK(munmap(p, 8192));
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 10, 4096));
    SHOW("file after munmap: %s", buf);

    int ro = open(path, O_RDONLY);
    char *r = mmap(0, 4096, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r != MAP_FAILED);
    SHOW("read-only mapping: %.7s", r);
    CHECK(mprotect(r, 4096, PROT_READ | PROT_WRITE));
    CHECK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED ? -1 : 0);
    int wo = open(path, O_WRONLY);
    CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED ? -1 : 0);
    CHECK(unlink(path));
    return 0;
}
