using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Interop;
using RunscNet.Runtime.Logging;
using RunscNet.StateFile;
using static RunscNet.LinuxInterop.OpenFlags;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// The files boot writes, opened by us for it: boot runs as an unprivileged host uid and holds no
/// directory of ours, so it gets each one as an open fd: the exit record (StateFile.ExitPath, where
/// it writes init's wait status), the --log file and its own --debug-log file (named as boot
/// would name it, pid 1 being its pid in its PID namespace). Boot opens them as /proc/self/fd/N.
/// </summary>
internal sealed record BootFiles(int ExitRecord, int Log, int DebugLog)
{

    /// <summary>Opens the files (close-on-exec; each fd is also added to <paramref name="owned"/>). Only the exit record is required.</summary>
    public static BootFiles Open(string containerId, GlobalOptions global, List<FileDescriptor> owned)
    {
        string exitPath = new RunscNet.StateFile.StateFile(global.Root, new FullId(containerId, containerId)).ExitPath;
        int exit = Processes.Open(exitPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0x180 /* 0600 */);
        if (exit < 0) throw new RuntimeError($"creating the exit record {exitPath}: {Processes.LastError()}");
        owned.Add(new FileDescriptor(exit));
        int log = global.LogFile == null ? -1 : OpenAppend(global.LogFile, owned);
        int debugLog = -1;
        if (global.DebugLog != null)
        {
            try { debugLog = OpenAppend(RuntimeLog.DebugLogFileName(global.DebugLog, "boot", 1, DateTime.UtcNow), owned); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { RuntimeLog.Warning($"boot's debug log: {e.Message}"); }
        }
        return new BootFiles(exit, log, debugLog);
    }

    /// <summary>Our global flags for boot, with --log and --debug-log naming its inherited fds (left out when not opened).</summary>
    public static List<string> GlobalArguments(GlobalOptions global, int logFd, int debugLogFd)
    {
        var args = global.ToArguments();
        Replace(args, "--log", logFd);
        Replace(args, "--debug-log", debugLogFd);
        return args;
    }

    private static void Replace(List<string> args, string flag, int fd)
    {
        int i = args.IndexOf(flag);
        if (i < 0) return;
        args[i + 1] = $"/proc/self/fd/{fd}";
    }

    private static int OpenAppend(string path, List<FileDescriptor> owned)
    {
        int fd = Processes.Open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0x1a4 /* 0644 */);
        if (fd < 0)
        {
            RuntimeLog.Warning($"opening {path} for the sandbox process: {Processes.LastError()}");
            return -1;
        }
        owned.Add(new FileDescriptor(fd));
        return fd;
    }
}
