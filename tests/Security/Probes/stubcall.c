/* Issue 10 item 2: system calls made from the systrap stub's own code page. The application
 * jumps to the stub's host-call `syscall` instruction with its own registers (rbx pointing at a
 * page it owns, laid out like a shared page), so the stub's seccomp filter sees a call from the
 * stub's code and judges it by its allow-list alone. Each mode prints one line per attempt:
 *   deny              openat, execve, kill, ptrace, socket, getpid (must all be EPERM)
 *   memfd, socketpair (must fail: only the Sentry may ask for them)
 *   getppid           (may stay allowed: must show only the sandbox's view, 0 or 1)
 *   clone             clone(CLONE_PARENT) (must fail); prints COUNT1/COUNT2 and waits 2 s at
 *                     each, so the test can count the sandbox's host processes around it
 *   mprotect PATH     a shared read-only mapping of PATH (opened O_RDONLY as uid 1000) made
 *                     writable from the stub and written through: the file must not change
 * The probe starts as root only to create /tmp/victim (0644), then runs as uid 1000 with no
 * capabilities. */
#include "stubattack.h"
#include <sys/socket.h>

static void deny(void)
{
    static const char path[] = "/etc/passwd";
    static char *const argv[] = { "/bin/true", NULL };
    volatile unsigned char *page = fake_page(0);
    int st = 0;
    show_result("openat", stub_call_in_child(page, SYS_openat, AT_FDCWD, (long)path, O_RDONLY, 0, 0, 0, 0, NULL, &st), st);
    show_result("execve", stub_call_in_child(page, SYS_execve, (long)argv[0], (long)argv, 0, 0, 0, 0, 0, NULL, &st), st);
    show_result("kill", stub_call_in_child(page, SYS_kill, 1, 0, 0, 0, 0, 0, 0, NULL, &st), st);
    show_result("ptrace", stub_call_in_child(page, SYS_ptrace, 0 /* TRACEME */, 0, 0, 0, 0, 0, 0, NULL, &st), st);
    show_result("socket", stub_call_in_child(page, SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0, 0, NULL, &st), st);
    show_result("getpid", stub_call_in_child(page, SYS_getpid, 0, 0, 0, 0, 0, 0, 0, NULL, &st), st);
}

static void memfd(void)
{
    static const char name[] = "rogue";
    volatile unsigned char *page = fake_page(0);
    int st = 0;
    show_result("memfd_create", stub_call_in_child(page, SYS_memfd_create, (long)name, 0, 0, 0, 0, 0, 0, NULL, &st), st);
}

static void pair(void)
{
    volatile unsigned char *page = fake_page(0);
    int st = 0;
    show_result("socketpair", stub_call_in_child(page, SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (long)(page + 0x800), 0, 0, 0, NULL, &st), st);
}

static void ppid(void)
{
    volatile unsigned char *page = fake_page(0);
    int st = 0;
    show_result("getppid", stub_call_in_child(page, SYS_getppid, 0, 0, 0, 0, 0, 0, 0, NULL, &st), st);
}

static void clone_parent(void)
{
    /* The sentry-pid word copied from the real page keeps a rogue clone alive (it futex-waits
     * on the fake page forever), so the test can see it from the host. */
    volatile unsigned char *page = fake_page(F32(SLOT_PAGE(0), OFF_SENTRY_PID));
    SAY("COUNT1");
    sleep(2);
    pid_t child;
    int st = 0;
    long r = stub_call_in_child(page, SYS_clone, 0x8000 /* CLONE_PARENT */, 0, 0, 0, 0, 0, 1, &child, &st);
    usleep(200000);   /* both the stub and a rogue clone store their result: take the last */
    if (r != NO_RESULT) r = F64(page, OFF_RESULT);
    show_result("clone", r, st);
    SAY("COUNT2");
    sleep(2);
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, &st, 0);
    }
}

static void read_head(const char *path, char *out, size_t n)
{
    memset(out, 0, n);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || pread(fd, out, n - 1, 0) < 0) snprintf(out, n, "(read error %s)", strerrorname_np(errno));
    if (fd >= 0) close(fd);
}

static void mprotect_attack(const char *path)
{
    char before[0x50], after[0x50];
    read_head(path, before, sizeof before);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        SAY("open %s: %s", path, strerrorname_np(errno));
        exit(2);
    }
    SAY("open O_RDWR: %s", open(path, O_RDWR) < 0 ? strerrorname_np(errno) : "allowed");
    volatile unsigned char *map = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        SAY("mmap: %s", strerrorname_np(errno));
        exit(2);
    }
    (void)map[0];   /* fault it in before forking */
    SAY("mprotect(PROT_WRITE) by the application: %s",
        mprotect((void *)map, 0x1000, PROT_READ | PROT_WRITE) == 0 ? "allowed" : strerrorname_np(errno));
    volatile unsigned char *page = fake_page(0);
    int st = 0;
    /* 1: the result of the host's mprotect, into the fake page. */
    show_result("mprotect from the stub", stub_call_in_child(page, SYS_mprotect, (long)map, 0x1000, PROT_READ | PROT_WRITE, 0, 0, 0, 0, NULL, &st), st);
    /* 2: the same with rbx = the mapping itself: the stub then stores the result at map+0x48
     * and its state word at map+0: a write through the mapping if mprotect succeeded (if it
     * failed, the store faults and the child dies). */
    unsigned long target = find_hostcall_syscall();
    long regs[7] = { SYS_mprotect, (long)map, 0x1000, PROT_READ | PROT_WRITE, 0, 0, 0 };
    pid_t pid = fork();
    if (pid == 0)
        stub_jump(target, (unsigned long)map, regs);
    double end = now_s() + 3;
    while (now_s() < end && waitpid(pid, &st, WNOHANG) != pid) {
        read_head(path, after, sizeof after);
        if (memcmp(before, after, sizeof before) != 0) break;
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    read_head(path, after, sizeof after);
    int same = memcmp(before, after, sizeof before) == 0;
    SAY("file %s", same ? "unchanged" : "CHANGED");
    if (!same) {
        printf("now:");
        for (int i = 0; i < 16; i++) printf(" %02x", (unsigned char)after[i]);
        SAY("");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: stubcall deny|memfd|socketpair|getppid|clone|mprotect PATH...\n");
        return 2;
    }
    if (getuid() == 0) {
        /* A root-owned file on the tmpfs /tmp the unprivileged user may only read. */
        int fd = open("/tmp/victim", O_CREAT | O_TRUNC | O_WRONLY, 0644);
        char buf[0x2000];
        memset(buf, 'A', sizeof buf);
        memcpy(buf, "ORIGINAL", 8);
        if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fchmod(fd, 0644) != 0) {
            SAY("create /tmp/victim: %s", strerror(errno));
            return 2;
        }
        close(fd);
        drop_to_user();
    }
    SAY("uid %d", (int)getuid());
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "deny") == 0) deny();
        else if (strcmp(argv[i], "memfd") == 0) memfd();
        else if (strcmp(argv[i], "socketpair") == 0) pair();
        else if (strcmp(argv[i], "getppid") == 0) ppid();
        else if (strcmp(argv[i], "clone") == 0) clone_parent();
        else if (strcmp(argv[i], "mprotect") == 0 && i + 1 < argc) mprotect_attack(argv[++i]);
        else {
            SAY("unknown mode %s", argv[i]);
            return 2;
        }
    }
    SAY("END");
    return 0;
}
