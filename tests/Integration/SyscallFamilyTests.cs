namespace RunscNet.Tests.Integration;

/// <summary>
/// The system-call families real programs use (POSIX timers, signalfd, inotify, pidfd, SysV IPC):
/// each probe in Probes/ runs natively and inside runsc-net and must print the same lines.
/// </summary>
public sealed class SyscallFamilyTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void PosixTimersBehaveAsOnLinux() => _probe.AssertSameAsNative("timers", [], []);

    [IntegrationFact]
    public void EpollLevelAndEdgeTriggeredReportsAsOnLinux() => _probe.AssertSameAsNative("epoll", [], []);

    [IntegrationFact]
    public void CpuAffinityAndPriorityRangesBehaveAsOnLinux() => _probe.AssertSameAsNative("affinity", [], []);

    [IntegrationFact]
    public void ProcStatusShowsSignalStateAsLinux() => _probe.AssertSameAsNative("sigstatus", [], []);

    [IntegrationFact]
    public void XattrNamespacesAndPermissionsAsOnLinux() => _probe.AssertSameAsNative("xattr", ["/dev/shm"], ["/dev/shm"]);

    [IntegrationFact]
    public void CpuClocksAndClockSettingBehaveAsOnLinux() => _probe.AssertSameAsNative("cpuclocks", [], []);

    [IntegrationFact]
    public void CapabilitySetsAmbientAndExecRulesAsOnLinux() => _probe.AssertSameAsNative("capabilities", [], []);

    [IntegrationFact]
    public void SeccompFiltersAndStrictModeAsOnLinux() => _probe.AssertSameAsNative("seccomp", [], []);

    [IntegrationFact]
    public void CpuIntervalTimersFireAsOnLinux() => _probe.AssertSameAsNative("itimers", [], []);

    [IntegrationFact]
    public void UdpMessageFlagsAndControlMessagesAsOnLinux() => _probe.AssertSameAsNative("udpmsg", [], []);

    [IntegrationFact]
    public void NetworkDeviceQueriesWorkOnEverySocketAsOnLinux() => _probe.AssertSameAsNative("netdev", [], []);

    [IntegrationFact]
    public void FileLimitBoundsDescriptorsFromTheStartAsOnLinux() => _probe.AssertSameAsNative("nofile", [], []);

    [IntegrationFact]
    public void ForkedChildKeepsItsParentsProgramAsOnLinux() => _probe.AssertSameAsNative("forkexe", [], []);

    [IntegrationFact]
    public void NamesArgumentsAndEnvironmentAreBytesAsOnLinux() => _probe.AssertSameAsNative("bytenames", ["/dev/shm"], ["/tmp"]);

    [IntegrationFact]
    public void WaitsWithATemporarySignalMaskAsOnLinux() => _probe.AssertSameAsNative("sigmaskwait", [], []);

    [IntegrationFact]
    public void DirectoryNotificationAndFileOwnersAsOnLinux() => _probe.AssertSameAsNative("dnotify", ["/dev/shm"], ["/tmp"]);

    [IntegrationFact]
    public void FifoOpenReturnsOnceAPartnerOpenedAsOnLinux() => _probe.AssertSameAsNative("fifo", ["/dev/shm"], ["/tmp"]);

    [IntegrationFact]
    public void SignalfdBehavesAsOnLinux() => _probe.AssertSameAsNative("signalfd", [], []);

    [IntegrationFact]
    public void PidfdBehavesAsOnLinux() => _probe.AssertSameAsNative("pidfd", [], []);

    [IntegrationFact]
    public void InotifyReportsTmpfsChangesAsLinux() => _probe.AssertSameAsNative("inotify", [_probe.TempDir()], ["/tmp"]);

    [IntegrationFact]
    public void InotifyReportsGoferFileChangesAsLinux() => _probe.AssertSameAsNative("inotify", [_probe.TempDir()], ["/data"]);

    [IntegrationFact]
    public void SysVSemaphoresAndMessageQueuesBehaveAsOnLinux() => _probe.AssertSameAsNative("sysvipc", [], []);

    [IntegrationFact]
    public void SysVSharedMemoryBehavesAsOnLinux() => _probe.AssertSameAsNative("sysvshm", [], []);

    [IntegrationFact]
    public void RobustMutexesPassToTheNextLockerWhenTheOwnerEnds() => _probe.AssertSameAsNative("robust", [], []);

    [IntegrationFact]
    public void ProcessCallsWaitsPrctlPrioritiesLimitsAndSignalsBehaveAsOnLinux() => _probe.AssertSameAsNative("process", [], []);

    [IntegrationFact]
    public void AnonymousMemoryCallsAndFaultsBehaveAsOnLinux() => _probe.AssertSameAsNative("memory", [], []);

    [IntegrationFact]
    public void ThreadNamesRandomAndSysinfoBehaveAsOnLinux() => _probe.AssertSameAsNative("misc", [], []);

    [IntegrationFact]
    public void EdgeTriggeredEpollAndTemporarySignalMasksBehaveAsOnLinux() => _probe.AssertSameAsNative("epollet", [], []);

    [IntegrationFact]
    public void ProcStatusShowsEveryFieldAndTheSignalMasksAsLinux() => _probe.AssertSameAsNative("procstatus", [], []);
}
