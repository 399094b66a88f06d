
namespace RunscNet.Sentry.Kernel;

/// <summary>
/// Calls one system-call handler. A handler that throws is a Sentry bug (it should have returned
/// an errno): the application still gets an error (EINVAL) rather than a dead Sentry, and the boot's
/// debug log gets a <see cref="DebugLog.SentryErrorMarker"/> line with the call, its arguments and the
/// stack, which fails every integration test run (tests/Integration/RunscNetBinary.cs reads the
/// --debug-log of each command) and the fuzzer.
/// </summary>
internal static class SyscallDispatch
{
    /// <summary>Runs <paramref name="entry"/>'s handler for <paramref name="task"/>.</summary>
    public static long Invoke(SyscallEntry entry, Task task, in SyscallArguments args, DebugLog log)
    {
        try
        {
            return entry.Handler!(task, args);
        }
        catch (Exception e)
        {
            log.Write($"{DebugLog.SentryErrorMarker} system call {entry.Name} ({entry.Number}) by {Describe(task)} "
                + $"args (0x{args.A0:x}, 0x{args.A1:x}, 0x{args.A2:x}, 0x{args.A3:x}, 0x{args.A4:x}, 0x{args.A5:x}) threw: {e}");
            return -Errno.EINVAL;
        }
    }

    private static string Describe(Task? task) => task is null ? "(no task)" : $"{task.Name} (pid {task.Pid}, tid {task.Tid})";
}
