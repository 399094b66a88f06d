/* Names, paths, arguments and environment are bytes: a file name that is not valid UTF-8 is
 * listed, read back and resolved as the same bytes (tmpfs dir argv[1]), as are symlink targets,
 * the cwd, AF_UNIX socket paths and an exec'd program's argv and envp; NAME_MAX counts bytes. */
#include "probe.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static void hex(const char *what, const char *s)
{
    printf("%s:", what);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) printf(" %02x", *p);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv, char **envp)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        hex("child argv[2]", argv[2]);
        for (char **e = envp; *e; e++)
            if (strncmp(*e, "PROBE=", 6) == 0) hex("child env", *e);
        return 0;
    }
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char base[256], name[300], path[600];
    snprintf(base, sizeof base, "%s/bytenames-%d", dir, (int)getpid());
    mkdir(base, 0755);
    CHECK(chdir(base));
    const char *odd[] = {"latin1-\xe9t\xe9", "lone-\xff", "cut-\xc3", "surrogate-\xed\xb2\x80", "utf8-\xc3\xa9t\xc3\xa9", NULL};
    for (int i = 0; odd[i]; i++) {
        int fd = open(odd[i], O_CREAT | O_WRONLY, 0644);
        SHOW("create %d: %d", i, fd >= 0);
        close(fd);
        struct stat st;
        SHOW("stat %d: %d", i, stat(odd[i], &st));
    }
    DIR *d = opendir(".");
    struct dirent *e;
    char *names[16];
    int n = 0;
    while ((e = readdir(d)) && n < 16)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) { char *x = names[i]; names[i] = names[j]; names[j] = x; }
    for (int i = 0; i < n; i++) hex("listed", names[i]);

    CHECK(symlink("target-\xff\xfe", "link-\x80"));
    char target[64] = "";
    CHECK(readlink("link-\x80", target, sizeof target - 1));
    hex("readlink", target);
    CHECK(mkdir("dir-\xfe", 0755));
    CHECK(chdir("dir-\xfe"));
    char cwd[512];
    getcwd(cwd, sizeof cwd);
    hex("cwd tail", strrchr(cwd, '/') + 1);
    CHECK(chdir(".."));
    CHECK(rename("lone-\xff", "renamed-\xfe\xff"));
    CHECK(access("renamed-\xfe\xff", F_OK));
    CHECK(unlink("renamed-\xfe\xff"));

    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "sock-\xff");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_un got;
    socklen_t len = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &len);
    hex("socket name", got.sun_path);
    SHOW("socket name length %d", (int)len);

    /* NAME_MAX is 255 bytes: 128 two-byte characters are 256 bytes. */
    name[0] = 0;
    for (int i = 0; i < 128; i++) strcat(name, "\xc3\xa9");
    CHECK(open(name, O_CREAT | O_WRONLY, 0644));
    name[254] = 0;
    int fd = open(name, O_CREAT | O_WRONLY, 0644);
    SHOW("254 bytes: %d", fd >= 0);

    if (fork() == 0) {
        char *args[] = {"/proc/self/exe", "--child", "arg-\xff\xc3", NULL};
        char *env[] = {"PROBE=env-\x80\xc3\xa9", NULL};
        snprintf(path, sizeof path, "/proc/%d/exe", getppid());
        execve("/proc/self/exe", args, env);
        SHOW("execve: %s", strerrorname_np(errno));
        _exit(127);
    }
    wait(NULL);

    /* Clean up (only names this probe made). */
    for (int i = 0; odd[i]; i++) unlink(odd[i]);
    unlink("link-\x80");
    unlink("sock-\xff");
    unlink(name);
    rmdir("dir-\xfe");
    chdir("/");
    CHECK(rmdir(base));
    return 0;
}
