// Lock order of the kernel (Kernel/, Kernel/Ipc/), outermost first. "A -> B": B may be taken
// while A is held, never A while B is held. Read from the lock sites; keep it true.
//
//   CheckpointGate._lock -> Kernel.TaskLock        the gate's wait loop lists the tasks
//   Kernel.TaskLock -> IpcNamespace.Lock           process exit (ReleaseIpcOf)
//   Kernel.TaskLock -> IntervalTimer._lock,        process exit cancels the itimers
//                      CpuIntervalTimer._lock
//   Kernel.TaskLock -> PosixTimer._lock            process exit (PosixTimerTable.DeleteAll,
//                                                  after leaving PosixTimerTable._timers)
//   Kernel.TaskLock -> Waiter._lock                signals and exits wake sleepers (WaitQueue.Notify)
//   FutexTable._lock -> Waiter._lock               FUTEX_WAKE wakes under the table lock
//   IpcNamespace.Lock -> TmpfsInode._lock, Waiter._lock
//                                                  shmget sizes the segment's memfd; IPC wakes
//
// Timers leave their own lock before they expire: IntervalTimer, CpuIntervalTimer and
// PosixTimer send their signal (which takes TaskLock) after unlocking. WaitQueue.Notify copies
// its list under WaitQueue._waiters and wakes after leaving it.
// Leaves (nothing is taken under them): WaitQueue._waiters, Waiter._lock, PosixTimerTable._timers,
// Rlimits._limits, Kernel._pauseLock, DebugLog.

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// The Sentry's kernel: the root of every kernel object of one sandbox (tasks, PID namespace,
/// VFS, clocks). Subsystems add their parts in partial files (Kernel.Vfs.cs, ...).
/// </summary>
internal sealed partial class Kernel
{
}
