// Makes system calls the Sentry has no handler for (ustat three times, vhangup once; both ENOSYS
// in runsc-net), then waits in pause(2), so `runsc-net debug --unimplemented` has counts to show
// and `--stacks` a task sitting in a call.
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 3; i++)
        if (syscall(SYS_ustat, 0, 0) != -1 || errno != ENOSYS) printf("ustat: not ENOSYS (%d)\n", errno);
    if (syscall(SYS_vhangup) != -1 || errno != ENOSYS) printf("vhangup: not ENOSYS (%d)\n", errno);
    printf("ready\n");
    fflush(stdout);
    pause();
    return 0;
}
