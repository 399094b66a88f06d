using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>Liveness, kill and reaping of a stub process (a child of the Sentry, exit signal 0).</summary>
internal static unsafe class StubProcess
{
    private const long SYS_waitid = 247;
    private const int P_PID = 1, WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000, __WALL = 0x40000000;

    /// <summary>True while host process <paramref name="pid"/> has not exited (it is not reaped here).</summary>
    public static bool IsAlive(int pid)
    {
        byte* info = stackalloc byte[128];
        new Span<byte>(info, 128).Clear();
        long r = RawSyscall.Call(SYS_waitid, P_PID, pid, (nint)info, WEXITED | WNOHANG | WNOWAIT | __WALL, 0, 0);
        if (r < 0) return Marshal.GetLastPInvokeError() == 4;   // EINTR: ask again later; ECHILD: gone
        return *(int*)(info + 16) == 0;   // si_pid stays 0 while nothing has exited
    }

    /// <summary>Kills <paramref name="pid"/> with SIGKILL and reaps it.</summary>
    public static void KillAndReap(int pid) => KillAndReap(pid, out _);

    /// <summary>As <see cref="KillAndReap(int)"/>, with the wait status the stub ended with (-1 if unknown).</summary>
    public static void KillAndReap(int pid, out int waitStatus)
    {
        waitStatus = -1;
        if (pid <= 0) return;
        HostIo.Kill(pid, 9);
        int status;
        while (true)
        {
            int r = Ptrace.WaitPid(pid, &status, Ptrace.__WALL);
            if (r == pid || (r < 0 && Marshal.GetLastPInvokeError() != 4))   // ECHILD: already reaped
            {
                if (r == pid) waitStatus = status;
                StubIds.Forget(pid);
                return;
            }
        }
    }
}
