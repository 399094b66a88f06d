namespace RunscNet.Runtime;

/// <summary>Entry point of runsc-net (the CLI is built in Cli/).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("runsc-net: not built yet");
        return 1;
    }
}
