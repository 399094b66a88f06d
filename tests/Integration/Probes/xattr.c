/* Extended attributes on a tmpfs directory (argv[1]): namespaces and their permission rules
 * (trusted.* needs CAP_SYS_ADMIN, user.* only on regular files and directories and needs write
 * permission, unknown namespaces EOPNOTSUPP), flags, sizes, listing. */
#include "probe.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

static void drop_sys_admin(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
    CHECK(syscall(SYS_capset, &h, d));
}

static void list(const char *path)
{
    char buf[512];
    ssize_t n = listxattr(path, buf, sizeof buf);
    printf("list:");
    /* Names in sorted order: file systems list in their own order. */
    const char *names[16];
    int count = 0;
    for (ssize_t i = 0; i < n && count < 16; i += strlen(buf + i) + 1) names[count++] = buf + i;
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (strcmp(names[j], names[i]) < 0) { const char *x = names[i]; names[i] = names[j]; names[j] = x; }
    for (int i = 0; i < count; i++) {
        /* security.* names the host's LSM may add (selinux) are not compared. */
        if (strncmp(names[i], "security.selinux", 16) != 0) printf(" %s", names[i]);
    }
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char file[256], link[256], fifo[256], sub[256];
    snprintf(file, sizeof file, "%s/xattr-file", dir);
    snprintf(link, sizeof link, "%s/xattr-link", dir);
    snprintf(fifo, sizeof fifo, "%s/xattr-fifo", dir);
    snprintf(sub, sizeof sub, "%s/xattr-dir", dir);
    unlink(file); unlink(link); unlink(fifo); rmdir(sub);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    symlink("xattr-file", link);
    mkfifo(fifo, 0666);
    mkdir(sub, 01777);
    char v[64];

    /* As a container's root: without CAP_SYS_ADMIN. */
    drop_sys_admin();
    CHECK(setxattr(file, "user.a", "1", 1, 0));
    CHECK(setxattr(file, "user.a", "2", 1, XATTR_CREATE));
    CHECK(setxattr(file, "user.b", "2", 1, XATTR_REPLACE));
    CHECK(setxattr(file, "user.a", "22", 2, XATTR_REPLACE));
    CHECK(getxattr(file, "user.a", v, sizeof v));
    CHECK(getxattr(file, "user.a", NULL, 0));
    CHECK(getxattr(file, "user.a", v, 1));
    CHECK(getxattr(file, "user.none", v, sizeof v));
    CHECK(setxattr(file, "user.a", "1", 1, 4));
    CHECK(setxattr(file, "bogus.a", "1", 1, 0));
    CHECK(setxattr(file, "", "1", 1, 0));
    CHECK(setxattr(file, "trusted.t", "1", 1, 0));
    CHECK(lsetxattr(link, "user.l", "1", 1, 0));
    CHECK(setxattr(fifo, "user.f", "1", 1, 0));
    CHECK(getxattr(fifo, "user.f", v, sizeof v));
    CHECK(setxattr(sub, "user.d", "1", 1, 0));
    list(file);
    CHECK(setxattr(file, "trusted.u", "1", 1, 0));
    CHECK(getxattr(file, "trusted.t", v, sizeof v));
    CHECK(removexattr(file, "trusted.t"));
    CHECK(setxattr(file, "security.s", "1", 1, 0));
    list(file);
    CHECK(removexattr(file, "user.a"));
    CHECK(removexattr(file, "user.a"));
    list(file);

    /* Another user: user.* needs write permission to change, read permission to read. */
    CHECK(setxattr(file, "user.c", "3", 1, 0));
    chmod(file, 0640);
    if (fork() == 0) {
        CHECK(setresuid(65534, 65534, 65534));
        CHECK(setxattr(file, "user.c", "4", 1, 0));
        CHECK(getxattr(file, "user.c", v, sizeof v));
        CHECK(removexattr(file, "user.c"));
        CHECK(setxattr(sub, "user.e", "1", 1, 0));
        _exit(0);
    }
    wait(NULL);
    unlink(file); unlink(link); unlink(fifo); rmdir(sub);
    return 0;
}
