/* Anonymous memory calls and their errors: mmap flags (FIXED, FIXED_NOREPLACE, NORESERVE,
 * POPULATE, GROWSDOWN, 32BIT), munmap/mprotect edge cases, mremap (grow in place, MAYMOVE,
 * FIXED, DONTUNMAP), madvise (DONTNEED zeroes private memory, FREE, bad advice), mincore,
 * mlock family, msync, brk, and the faults: SIGSEGV with si_code and si_addr for unmapped and
 * protected pages. No addresses are printed, only facts about them. */
#include "probe.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096UL

static sigjmp_buf jump;
static volatile int fault_code;
static volatile void *fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(jump, 1);
}

/* Touches p (read, or write when write != 0); prints what happened. */
static void touch(const char *what, volatile char *p, int write)
{
    fault_code = 0;
    fault_addr = NULL;
    if (sigsetjmp(jump, 1) == 0) {
        if (write) *p = 1;
        else (void)*p;
        SHOW("%s: ok", what);
    } else {
        SHOW("%s: SIGSEGV %s at the address %d", what, fault_code == SEGV_MAPERR ? "MAPERR" : fault_code == SEGV_ACCERR ? "ACCERR" : "other",
             fault_addr == (void *)p);
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    /* argument errors */
    CHECK((long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK((long)mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
    CHECK((long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    CHECK((long)mmap((void *)1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    CHECK((long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0));
    CHECK((long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1));
    CHECK((long)mmap(NULL, -PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK(munmap((void *)1, PAGE));
    CHECK(munmap(NULL, 0));
    CHECK(mprotect((void *)1, PAGE, PROT_READ));
    CHECK(mprotect(NULL, PAGE, 0x100));

    /* placement */
    char *a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW("page aligned %d zeroed %d", ((uintptr_t)a & (PAGE - 1)) == 0, a[0] == 0 && a[4 * PAGE - 1] == 0);
    char *f = mmap(a + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    SHOW("fixed_noreplace over a mapping: %s", f == MAP_FAILED ? strerrorname_np(errno) : "mapped");
    f = mmap(a + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    SHOW("fixed replaces at the address %d", f == a + PAGE);
    touch("write to the read-only replacement", a + PAGE, 1);
    touch("read of it", a + PAGE, 0);
    char *hint = mmap(a + 64 * PAGE * 1024, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW("free hint honoured %d", hint == a + 64 * PAGE * 1024);
    munmap(hint, PAGE);
    char *low = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    SHOW("map_32bit below 2 GiB %d", low != MAP_FAILED && (uintptr_t)low < (1UL << 31));
    munmap(low, PAGE);
    char *pop = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_NORESERVE, -1, 0);
    unsigned char vec[8] = {0};
    CHECK(mincore(pop, 2 * PAGE, vec));
    SHOW("populated resident %d %d", vec[0] & 1, vec[1] & 1);
    CHECK(mincore(pop + 1, PAGE, vec));
    CHECK(mincore(a + 1000 * PAGE * 1024, PAGE, vec));
    munmap(pop, 2 * PAGE);

    /* protection changes split and fault */
    CHECK(mprotect(a + 2 * PAGE, PAGE, PROT_NONE));
    touch("read of PROT_NONE", a + 2 * PAGE, 0);
    CHECK(mprotect(a + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE));
    touch("write after mprotect back", a + 2 * PAGE, 1);
    CHECK(mprotect(a, 100 * PAGE * 1024, PROT_READ));
    CHECK(mprotect(a + 1, PAGE, PROT_READ));
    CHECK(munmap(a + 3 * PAGE, PAGE));
    touch("read of an unmapped page", a + 3 * PAGE, 0);
    CHECK(munmap(a + 3 * PAGE, PAGE));

    /* madvise */
    char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 'x', 2 * PAGE);
    CHECK(madvise(m, PAGE, MADV_DONTNEED));
    SHOW("after DONTNEED %d %c", m[0], m[PAGE]);
    CHECK(madvise(m, PAGE, MADV_FREE));
    CHECK(madvise(m, PAGE, MADV_WILLNEED));
    CHECK(madvise(m, PAGE, MADV_SEQUENTIAL));
    CHECK(madvise(m, PAGE, MADV_HUGEPAGE) == 0 || errno == EINVAL ? 0 : -1);
    CHECK(madvise(m, PAGE, 12345));
    CHECK(madvise(m + 1, PAGE, MADV_DONTNEED));
    CHECK(madvise(a + 3 * PAGE, PAGE, MADV_DONTNEED));
    CHECK(madvise(m, PAGE, MADV_DONTFORK));
    CHECK(madvise(m, PAGE, MADV_DOFORK));

    /* mremap */
    char *r = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(r, "moved data");
    char *r2 = mremap(r, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    SHOW("grown keeps data [%s] new tail zero %d", r2, r2[63 * PAGE] == 0);
    char *r3 = mremap(r2, 64 * PAGE, PAGE, 0);
    SHOW("shrunk in place %d", r3 == r2);
    touch("read past the shrunk end", r2 + PAGE, 0);
    CHECK((long)mremap(r3, PAGE, 2 * PAGE, MREMAP_FIXED));
    CHECK((long)mremap(r3 + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    CHECK((long)mremap(r3, 0, PAGE, MREMAP_MAYMOVE) == -1 ? -1 : 0);
    CHECK((long)mremap(a + 3 * PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    char *dst = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *r4 = mremap(r3, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PAGE);
    SHOW("fixed move to the target %d [%s]", r4 == dst + PAGE, r4);
    touch("read of the old place", r3, 0);
    char *r5 = mremap(r4, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    SHOW("dontunmap moved %d [%s] old zeroed %d", r5 != MAP_FAILED && r5 != r4, r5 == MAP_FAILED ? "" : r5,
         r5 != MAP_FAILED && r4[0] == 0);
    CHECK((long)mremap(r5, PAGE, 2 * PAGE, 99));

    /* locks and syncs */
    CHECK(mlock(m, PAGE));
    CHECK(munlock(m, PAGE));
    CHECK(mlock2(m, PAGE, MLOCK_ONFAULT));
    CHECK(mlock2(m, PAGE, 99));
    CHECK(munlockall());
    CHECK(mlock(a + 3 * PAGE, PAGE));
    CHECK(msync(m, PAGE, MS_SYNC));
    CHECK(msync(m, PAGE, MS_SYNC | MS_ASYNC));
    CHECK(msync(m + 1, PAGE, MS_SYNC));
    CHECK(msync(a + 3 * PAGE, PAGE, MS_SYNC));

    /* brk */
    char *b0 = sbrk(0);
    CHECK(brk(b0 + 10 * PAGE));
    char *b1 = sbrk(0);
    SHOW("brk grew %d", b1 == b0 + 10 * PAGE);
    b1[-1] = 'b';
    CHECK(brk(b0));
    touch("read past the shrunk break", b0 + 5 * PAGE, 0);
    SHOW("brk below the start refused %d", syscall(SYS_brk, 4096) == (long)b0);

    /* null and kernel addresses */
    touch("read of NULL", NULL, 0);
    touch("read of a kernel address", (char *)0xffffffffff600000UL + 0x1000000, 0);
    return 0;
}
