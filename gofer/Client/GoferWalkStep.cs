namespace RunscNet.Gofer;

/// <summary>One component walked by <see cref="GoferClient.WalkMany"/>: its new handle and attributes.</summary>
public struct GoferWalkStep
{
    public ulong Handle;
    public GoferStat Stat;
}
