/* /proc/self/maps and smaps: file mappings named by path with the device and inode stat shows,
 * " (deleted)" once unlinked, memfds and shared anonymous memory by their shmem names, and the
 * [heap], [stack], [vdso] and [vvar] entries; line format as show_map_vma prints it. Prints
 * properties, not addresses. argv[1]: a writable directory. */
#include "probe.h"
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct line { unsigned long start, end, offset, inode; char perms[5]; unsigned maj, min; char name[512]; char raw[1024]; };

static int read_maps(const char *file, struct line *out, int max)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) return -1;
    char buf[1024];
    int n = 0;
    while (n < max && fgets(buf, sizeof buf, f)) {
        if (strchr(buf, ':') && !strchr(buf, '-')) continue;          /* smaps field lines */
        struct line *l = &out[n];
        memset(l, 0, sizeof *l);
        int pos = 0;
        if (sscanf(buf, "%lx-%lx %4s %lx %x:%x %lu %n", &l->start, &l->end, l->perms, &l->offset, &l->maj, &l->min, &l->inode, &pos) < 7)
            continue;
        buf[strcspn(buf, "\n")] = 0;
        strcpy(l->raw, buf);
        snprintf(l->name, sizeof l->name, "%s", buf + pos);
        n++;
    }
    fclose(f);
    return n;
}

static struct line lines[4096];
static int nlines;

static struct line *containing(unsigned long addr)
{
    for (int i = 0; i < nlines; i++)
        if (lines[i].start <= addr && addr < lines[i].end) return &lines[i];
    return NULL;
}

static const char *dir;   /* argv[1]: differs natively and in the sandbox, so printed as DIR */

/* The name with the directory argument shown as DIR, so native and sandboxed runs compare. */
static const char *shown(const char *name)
{
    static char buf[600];
    size_t n = strlen(dir);
    if (strncmp(name, dir, n) != 0) return name;
    snprintf(buf, sizeof buf, "DIR%s", name + n);
    return buf;
}

static void show_mapping(const char *what, void *addr, int fd)
{
    struct line *l = containing((unsigned long)addr);
    if (l == NULL) { SHOW("%s: no line", what); return; }
    struct stat st;
    fstat(fd, &st);
    SHOW("%s: perms %s offset %08lx name '%s' dev matches %d inode matches %d name at column 73 %d", what, l->perms, l->offset,
         shown(l->name), l->maj == major(st.st_dev) && l->min == minor(st.st_dev), l->inode == st.st_ino, (int)(strstr(l->raw, l->name) - l->raw) == 73);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    char path[512], exe[512];
    snprintf(path, sizeof path, "%s/mapped-file", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(ftruncate(fd, 3 * 4096));
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
    int mfd = memfd_create("probe", MFD_CLOEXEC);
    CHECK(ftruncate(mfd, 4096));
    char *mm = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);
    char *shanon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *heap = malloc(1000);   /* static glibc: from brk */
    heap[0] = 1;
    int local = 0;

    nlines = read_maps("/proc/self/maps", lines, 4096);
    SHOW("maps readable: %d", nlines > 0);
    show_mapping("shared file mapping", m, fd);
    show_mapping("memfd mapping", mm, mfd);
    struct line *l = containing((unsigned long)shanon);
    SHOW("shared anonymous: perms %s name '%s'", l ? l->perms : "-", l ? l->name : "-");
    l = containing((unsigned long)anon);
    SHOW("private anonymous: perms %s dev %x:%x inode %lu name '%s' ends with '0 ' %d", l ? l->perms : "-", l ? l->maj : 9, l ? l->min : 9,
         l ? l->inode : 9, l ? l->name : "-", l && strcmp(l->raw + strlen(l->raw) - 2, "0 ") == 0);
    l = containing((unsigned long)&local);
    SHOW("stack: %s", l ? l->name : "none");
    l = containing((unsigned long)sbrk(0) - 1);
    SHOW("heap: %s %s", l ? l->name : "none", l ? l->perms : "");
    l = containing(getauxval(AT_SYSINFO_EHDR));
    SHOW("vdso: %s %s", l ? l->name : "none", l ? l->perms : "");
    int vvar = 0;
    for (int i = 0; i < nlines; i++) vvar |= strcmp(lines[i].name, "[vvar]") == 0;
    SHOW("vvar present: %d", vvar);

    /* The executable: its lines carry its path and its device and inode. */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n < 0 ? 0 : n] = 0;
    struct stat est;
    stat(exe, &est);
    int exe_lines = 0, exe_ok = 1, exe_x = 0;
    for (int i = 0; i < nlines; i++) {
        if (strcmp(lines[i].name, exe) != 0) continue;
        exe_lines++;
        exe_ok &= lines[i].maj == major(est.st_dev) && lines[i].min == minor(est.st_dev) && lines[i].inode == est.st_ino;
        exe_x |= strcmp(lines[i].perms, "r-xp") == 0;
    }
    SHOW("executable lines: %d, device and inode match %d, one r-xp %d", exe_lines > 0, exe_ok, exe_x);

    struct line *sm = malloc(sizeof lines);   /* before the maps read the smaps one is compared with */
    memset(sm, 0, sizeof lines);

    /* Unlinked: " (deleted)". */
    CHECK(unlink(path));
    nlines = read_maps("/proc/self/maps", lines, 4096);
    l = containing((unsigned long)m);
    char want[600];
    snprintf(want, sizeof want, "%s (deleted)", path);
    SHOW("after unlink: name is path + ' (deleted)' %d", l && strcmp(l->name, want) == 0);

    /* smaps: the same headers, each followed by its fields. */
    int ns = read_maps("/proc/self/smaps", sm, 4096);
    int same = ns == nlines;
    for (int i = 0; same && i < ns; i++) same = strcmp(sm[i].raw, lines[i].raw) == 0;
    SHOW("smaps headers equal maps lines: %d", same);
    FILE *f = fopen("/proc/self/smaps", "r");
    char buf[1024];
    int in_file = 0, size_kb = -1, has_rss = 0, has_flags = 0;
    while (f && fgets(buf, sizeof buf, f)) {
        unsigned long s, e;
        if (sscanf(buf, "%lx-%lx ", &s, &e) == 2 && strchr(buf, ' ') > strchr(buf, '-')) { in_file = s == (unsigned long)m; continue; }
        if (!in_file) continue;
        sscanf(buf, "Size: %d kB", &size_kb);
        has_rss |= strncmp(buf, "Rss:", 4) == 0;
        has_flags |= strncmp(buf, "VmFlags:", 8) == 0;
    }
    SHOW("smaps of the file mapping: Size %d kB, Rss %d, VmFlags %d", size_kb, has_rss, has_flags);
    return 0;
}
