/* Path system calls whose raw form differs from the libc wrapper: fchmodat(2) has three
 * arguments (glibc leaves the fourth register undefined), and /proc/self/status shows the
 * reading process as running. argv[1]: a writable directory. */
#include "probe.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
    char path[256];
    snprintf(path, sizeof path, "%s/mode", argc > 1 ? argv[1] : "/tmp");
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    close(fd);
    CHECK(syscall(SYS_fchmodat, AT_FDCWD, path, 0640, 0x7fff12345678L));
    struct stat st;
    CHECK(stat(path, &st));
    SHOW("mode: %o", st.st_mode & 07777);
    CHECK(fchmodat(AT_FDCWD, path, 0604, 0));
    CHECK(stat(path, &st));
    SHOW("mode: %o", st.st_mode & 07777);
    /* times set by utimensat stay until the next write; a write moves mtime again */
    struct timespec times[2] = {{1000, 0}, {2000, 500}};
    fd = open(path, O_WRONLY);
    CHECK(write(fd, "data", 4));
    CHECK(utimensat(AT_FDCWD, path, times, 0));
    CHECK(stat(path, &st));
    SHOW("atime %ld mtime %ld.%09ld", (long)st.st_atime, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    CHECK(write(fd, "more", 4));
    CHECK(fstat(fd, &st));
    SHOW("mtime moved by write %d", st.st_mtime > 2000);
    close(fd);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "State:", 6) == 0) fputs(line, stdout);
    fclose(f);
    CHECK(unlink(path));
    return 0;
}
