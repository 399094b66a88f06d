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
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "State:", 6) == 0) fputs(line, stdout);
    fclose(f);
    CHECK(unlink(path));
    return 0;
}
