using RunscNet.Tests.Integration;

namespace RunscNet.Tests.Compat;

/// <summary>
/// Pseudo-terminals a container makes through /dev/ptmx (Python's pty module, script(1),
/// expect): the pty probe runs natively and in runsc-net and must print the same.
/// </summary>
public sealed class PseudoTerminalTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void PtmxMakesTerminalPairsAsOnLinux() => _probe.AssertSameAsNative("pty", [], []);

    [IntegrationFact]
    public void ControlCharactersResizeAndHangUpSignalTheSlavesProcessesAsOnLinux() => _probe.AssertSameAsNative("ptysignals", [], []);
}
