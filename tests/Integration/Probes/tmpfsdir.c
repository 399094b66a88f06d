/* A tmpfs directory as Linux shows it: getdents lists ".", ".." and then the entries newest
 * first (a renamed entry counts as new; Linux 6.14 and later, and before 6.6), and st_blocks is 0 for
 * directories, symlinks and empty files while a written file counts its pages; a directory's
 * st_size is 20 bytes per entry. argv[1]: a directory on a tmpfs to work in. */
#include "probe.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static void list(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    printf("listing:");
    while ((e = readdir(d)) != NULL) printf(" %s", e->d_name);
    printf("\n");
    fflush(stdout);
    closedir(d);
}

static void show(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) { SHOW("%s: %s", path, strerrorname_np(errno)); return; }
    SHOW("%s: size %lld blocks %lld nlink %lu", strrchr(path, '/') + 1, (long long)st.st_size,
         (long long)st.st_blocks, (unsigned long)st.st_nlink);
}

int main(int argc, char **argv)
{
    char dir[256], p[300];
    snprintf(dir, sizeof dir, "%s/tmpfsdir", argc > 1 ? argv[1] : "/tmp");
    CHECK(mkdir(dir, 0755));
#define AT(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
    CHECK(mkdir(AT("sub"), 0755));
    int fd = open(AT("a"), O_CREAT | O_WRONLY, 0644);
    char buf[10000];
    memset(buf, 'x', sizeof buf);
    CHECK(write(fd, buf, sizeof buf));
    close(fd);
    close(open(AT("b"), O_CREAT | O_WRONLY, 0644));
    close(open(AT("c"), O_CREAT | O_WRONLY, 0644));
    CHECK(symlink("a", AT("l")));
    char a[300];
    snprintf(a, sizeof a, "%s/a", dir);
    CHECK(link(a, AT("h")));
    list(dir);
    char b[300];
    snprintf(b, sizeof b, "%s/b", dir);
    CHECK(rename(b, AT("b2")));
    CHECK(unlink(AT("c")));
    close(open(AT("d"), O_CREAT | O_WRONLY, 0644));
    list(dir);
    show(dir);
    show(AT("sub"));
    show(AT("a"));
    show(AT("b2"));
    show(AT("l"));
    const char *names[] = {"a", "b2", "d", "h", "l", "sub"};
    for (int i = 0; i < 6; i++) {
        AT(names[i]);
        if (strcmp(names[i], "sub") == 0) rmdir(p); else unlink(p);
    }
    CHECK(rmdir(dir));
    return 0;
}
