/* Capability sets (capabilities(7)): the ambient set (PR_CAP_AMBIENT raise/lower/is-set/clear and
 * its permitted-and-inheritable rule), securebits and KEEPCAPS, what a UID change does to the
 * sets, and what execve keeps for root and for a non-root user with ambient capabilities. Prints
 * only facts about CAP_CHOWN and CAP_NET_BIND_SERVICE, which a container's root holds too. */
#include "probe.h"
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/capability.h>

#define CHOWN (1ULL << CAP_CHOWN)
#define BIND (1ULL << CAP_NET_BIND_SERVICE)

static uint64_t status_set(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t v = 0;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':') v = strtoull(line + n + 1, NULL, 16);
    if (f) fclose(f);
    return v;
}

static void show_sets(const char *when)
{
    uint64_t mask = CHOWN | BIND;
    SHOW("%s: inh %llx prm %llx eff %llx amb %llx", when,
         (unsigned long long)(status_set("CapInh") & mask), (unsigned long long)(status_set("CapPrm") & mask),
         (unsigned long long)(status_set("CapEff") & mask), (unsigned long long)(status_set("CapAmb") & mask));
}

static int set_inheritable(uint64_t add, uint64_t drop)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return -1;
    uint64_t inh = ((uint64_t)d[1].inheritable << 32 | d[0].inheritable);
    inh = (inh | add) & ~drop;
    d[0].inheritable = (uint32_t)inh;
    d[1].inheritable = (uint32_t)(inh >> 32);
    return (int)syscall(SYS_capset, &h, d);
}

static void child(const char *name, void (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0) { body(); _exit(0); }
    int st;
    waitpid(pid, &st, 0);
    SHOW("%s exited %d", name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void drop_to_user(void)
{
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    CHECK(setresuid(1000, 1000, 1000));
    show_sets("after setresuid without keepcaps");
}

static void keep_and_exec(void)
{
    CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(setresuid(1000, 1000, 1000));
    show_sets("after setresuid with keepcaps");
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
    char *argv[] = {"capabilities", "show", "user exec with ambient", NULL};
    execv("/proc/self/exe", argv);
    SHOW("execv failed: %s", strerrorname_np(errno));
}

static void exec_as_root(void)
{
    char *argv[] = {"capabilities", "show", "root exec", NULL};
    execv("/proc/self/exe", argv);
    SHOW("execv failed: %s", strerrorname_np(errno));
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "show") == 0) {
        show_sets(argv[2]);
        CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
        return 0;
    }
    set_inheritable(0, CHOWN | BIND);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    show_sets("start");
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));   /* not inheritable: EPERM */
    CHECK(set_inheritable(CHOWN | BIND, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 99, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 1, 0));
    CHECK(prctl(PR_CAP_AMBIENT, 9, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    show_sets("raised");
    CHECK(set_inheritable(0, CHOWN));   /* dropping inheritable drops ambient */
    show_sets("inheritable dropped");
    CHECK(set_inheritable(CHOWN, 0));
    CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, 1 << 4, 0, 0, 0));
    CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_SECUREBITS, 0, 0, 0, 0));
    CHECK(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
    child("drop", drop_to_user);
    child("keep and exec", keep_and_exec);
    child("root exec", exec_as_root);
    return 0;
}
