/* File seals (fcntl F_ADD_SEALS/F_GET_SEALS, memfd_create): which files have seals (shmem files
 * only: pipes, sockets and other file systems give EINVAL), memfd's default F_SEAL_SEAL, and what
 * each seal forbids. argv[1]: a directory on a disk file system, argv[2]: one on tmpfs. */
#include "probe.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 8U
#define MFD_EXEC 0x10U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x20
#endif

static void seal_calls(const char *what, int fd)
{
    char label[128];
    snprintf(label, sizeof label, "%s F_GET_SEALS", what);
    probe_report(label, fcntl(fd, F_GET_SEALS));
    snprintf(label, sizeof label, "%s F_ADD_SEALS(WRITE)", what);
    probe_report(label, fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
}

static int sealable(size_t size)
{
    int fd = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, size) != 0) { perror("memfd"); exit(1); }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    char path[512];
    int p[2];
    CHECK(pipe(p));
    seal_calls("pipe read end", p[0]);
    seal_calls("pipe write end", p[1]);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    seal_calls("socket", sv[0]);
    snprintf(path, sizeof path, "%s/disk-file", argv[1]);
    int disk = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    seal_calls("disk file", disk);
    int disk_path = open(path, O_PATH);
    CHECK(fcntl(disk_path, F_GET_SEALS));
    snprintf(path, sizeof path, "%s/tmpfs-file", argv[2]);
    int shm = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    seal_calls("tmpfs file", shm);
    unlink(path);
    int plain = memfd_create("plain", MFD_CLOEXEC);
    seal_calls("memfd without MFD_ALLOW_SEALING", plain);

    /* F_SEAL_WRITE: EBUSY while a shared writable mapping exists; then no write, no shared writable map. */
    int m = sealable(8192);
    CHECK(fcntl(m, F_GET_SEALS));
    CHECK(fcntl(m, F_ADD_SEALS, 0x40));
    char *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    SHOW("shared writable map: %s", w == MAP_FAILED ? "failed" : "ok");
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
    CHECK(munmap(w, 8192));
    char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
    CHECK(fcntl(m, F_GET_SEALS));
    CHECK(write(m, "x", 1));
    CHECK(pwrite(m, "x", 1, 0));
    void *again = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    SHOW("shared writable map after F_SEAL_WRITE: %s", again == MAP_FAILED ? strerrorname_np(errno) : "ok");
    char *ro = mmap(NULL, 8192, PROT_READ, MAP_SHARED, m, 0);
    SHOW("shared read-only map after F_SEAL_WRITE: %s", ro == MAP_FAILED ? strerrorname_np(errno) : "ok");
    if (ro != MAP_FAILED) CHECK(mprotect(ro, 8192, PROT_READ | PROT_WRITE));
    SHOW("private writable map: %s", priv == MAP_FAILED ? "failed" : "ok");
    if (priv != MAP_FAILED) { priv[0] = 'p'; SHOW("private copy written: %c", priv[0]); }
    CHECK(ftruncate(m, 16384));
    CHECK(ftruncate(m, 4096));

    /* F_SEAL_GROW / F_SEAL_SHRINK. */
    int g = sealable(4096);
    CHECK(fcntl(g, F_ADD_SEALS, F_SEAL_GROW));
    CHECK(ftruncate(g, 8192));
    CHECK(pwrite(g, "x", 1, 4096));
    CHECK(pwrite(g, "x", 1, 4095));
    CHECK(ftruncate(g, 2048));
    CHECK(fallocate(g, 0, 0, 65536));
    int s = sealable(4096);
    CHECK(fcntl(s, F_ADD_SEALS, F_SEAL_SHRINK));
    CHECK(ftruncate(s, 2048));
    CHECK(ftruncate(s, 8192));
    CHECK(fcntl(s, F_GET_SEALS));

    /* F_SEAL_FUTURE_WRITE: existing shared writable mappings keep writing; nothing new may. */
    int f = sealable(4096);
    char *fw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    CHECK(fcntl(f, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    fw[0] = 'z';
    char c = 0;
    CHECK(pread(f, &c, 1, 0));
    SHOW("written through the old mapping: %c", c);
    CHECK(write(f, "x", 1));
    void *nf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    SHOW("new shared writable map after F_SEAL_FUTURE_WRITE: %s", nf == MAP_FAILED ? strerrorname_np(errno) : "ok");

    /* F_SEAL_SEAL ends it; a read-only description cannot add. */
    int z = sealable(4096);
    CHECK(fcntl(z, F_ADD_SEALS, F_SEAL_SEAL));
    CHECK(fcntl(z, F_ADD_SEALS, F_SEAL_GROW));
    CHECK(fcntl(z, F_GET_SEALS));

    /* MFD_NOEXEC_SEAL: mode 0666, F_SEAL_EXEC, the x bits cannot come back. */
    int nx = memfd_create("noexec", MFD_NOEXEC_SEAL | MFD_CLOEXEC);
    struct stat st;
    CHECK(fstat(nx, &st));
    SHOW("noexec memfd mode: %o", st.st_mode & 07777);
    CHECK(fcntl(nx, F_GET_SEALS));
    CHECK(fchmod(nx, 0777));
    CHECK(fchmod(nx, 0644));
    CHECK(fcntl(nx, F_ADD_SEALS, F_SEAL_GROW));
    CHECK(memfd_create("both", MFD_NOEXEC_SEAL | MFD_EXEC));
    return 0;
}
