using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary>
/// <c>update</c>: changes the resource limits of a created, running or paused container (its
/// sandbox's cgroup), from a JSON resources file (-r, as containerd passes) or runc's flags.
/// </summary>
[Verb("update", HelpText = "update the resource limits of a container")]
public sealed class UpdateCommand : ICommand
{
    [Option('r', "resources", MetaValue = "FILE", HelpText = "JSON resources (OCI linux.resources; - for stdin)")]
    public string? Resources { get; set; }

    [Option("memory", MetaValue = "BYTES", HelpText = "memory limit (suffixes k, m, g allowed)")]
    public string? Memory { get; set; }

    [Option("memory-reservation", MetaValue = "BYTES", HelpText = "memory soft limit")]
    public string? MemoryReservation { get; set; }

    [Option("memory-swap", MetaValue = "BYTES", HelpText = "memory plus swap limit (-1: unlimited)")]
    public string? MemorySwap { get; set; }

    [Option("cpu-shares", MetaValue = "N", HelpText = "CPU shares (relative weight)")]
    public ulong? CpuShares { get; set; }

    [Option("cpu-period", MetaValue = "US", HelpText = "CPU CFS period in microseconds")]
    public ulong? CpuPeriod { get; set; }

    [Option("cpu-quota", MetaValue = "US", HelpText = "CPU CFS quota in microseconds (-1: unlimited)")]
    public long? CpuQuota { get; set; }

    [Option("cpuset-cpus", MetaValue = "LIST", HelpText = "CPUs to use (accepted, not applied)")]
    public string? CpusetCpus { get; set; }

    [Option("cpuset-mems", MetaValue = "LIST", HelpText = "memory nodes to use (accepted, not applied)")]
    public string? CpusetMems { get; set; }

    [Option("pids-limit", MetaValue = "N", HelpText = "maximum number of processes (-1: unlimited)")]
    public long? PidsLimit { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        var update = ResourceUpdate.Parse(this);
        Container.Load(context.Global.Root, Id).Update(update);
        return 0;
    }
}
