using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary>
/// <c>debug ID --unimplemented|--stacks</c>: what the Sentry of a running container knows about
/// it, asked over the control socket: the calls each program made that the Sentry does not
/// implement (with counts), and each task's state and the system call it is in.
/// </summary>
[Verb("debug", HelpText = "show the unimplemented calls a container made (--unimplemented) or its tasks (--stacks)")]
public sealed class DebugCommand : ICommand
{
    [Option("unimplemented", HelpText = "per program, the system calls the Sentry does not implement that it made, with counts")]
    public bool Unimplemented { get; set; }

    [Option("stacks", HelpText = "each task: tid, pid, name, state and the system call it is in")]
    public bool Stacks { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <summary>The flags may also follow the ID (`debug ID --stacks`), where Go flag parsing has stopped.</summary>
    [Value(1, MetaName = "flags")]
    public IEnumerable<string> Trailing { get; set; } = [];

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        foreach (string a in Trailing)
        {
            switch (a.TrimStart('-'))
            {
                case "unimplemented" when a.StartsWith('-'): Unimplemented = true; break;
                case "stacks" when a.StartsWith('-'): Stacks = true; break;
                default: throw new RuntimeError($"debug: unexpected argument {a}");
            }
        }
        if (!Unimplemented && !Stacks) throw new RuntimeError("debug: say what to show: --unimplemented and/or --stacks");
        var container = Container.Load(context.Global.Root, Id);
        var w = Console.Out;
        if (Unimplemented)
        {
            w.WriteLine($"{"PROGRAM",-16} {"NR",-4} {"NAME",-24} COUNT");
            foreach (var u in container.UnimplementedCalls())
                w.WriteLine($"{u.Program,-16} {u.Number,-4} {u.Name,-24} {u.Count}");
        }
        if (Stacks)
        {
            if (Unimplemented) w.WriteLine();
            w.WriteLine($"{"TID",-7} {"PID",-7} {"NAME",-16} {"STATE",-11} SYSCALL");
            foreach (var t in container.Stacks())
                w.WriteLine($"{t.Tid,-7} {t.Pid,-7} {t.Name,-16} {t.State,-11} {(t.Syscall >= 0 ? $"{t.SyscallName} ({t.Syscall})" : "-")}".TrimEnd());
        }
        return 0;
    }
}
