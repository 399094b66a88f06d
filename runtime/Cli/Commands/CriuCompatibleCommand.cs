using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary>
/// The flags `checkpoint` and `restore` share with runc's CRIU-backed verbs: the image directory,
/// the two modes runsc-net refuses, and the CRIU tuning flags podman and containerd pass, which do
/// not apply to a Sentry image and are accepted and ignored.
/// </summary>
public abstract class CriuCompatibleCommand
{
    [Option("image-path", MetaValue = "DIR", HelpText = "directory of the image")]
    public string? ImagePath { get; set; }

    [Option("image-key", MetaValue = "FILE", HelpText = "sign (checkpoint) or verify (restore) the image with HMAC-SHA256 keyed by FILE's bytes")]
    public string? ImageKey { get; set; }

    [Option("pre-dump", Hidden = true)]
    public bool PreDump { get; set; }

    [Option("lazy-pages", Hidden = true)]
    public bool LazyPages { get; set; }

    [Option("tcp-established", Hidden = true)] public bool TcpEstablished { get; set; }
    [Option("file-locks", Hidden = true)] public bool FileLocks { get; set; }
    [Option("ext-unix-sk", Hidden = true)] public bool ExtUnixSockets { get; set; }
    [Option("shell-job", Hidden = true)] public bool ShellJob { get; set; }
    [Option("manage-cgroups-mode", Hidden = true)] public string? ManageCgroupsMode { get; set; }
    [Option("empty-ns", Hidden = true)] public string? EmptyNamespace { get; set; }
    [Option("parent-path", Hidden = true)] public string? ParentPath { get; set; }
    [Option("status-fd", Hidden = true)] public string? StatusFd { get; set; }
    [Option("auto-dedup", Hidden = true)] public bool AutoDedup { get; set; }

    /// <summary>The image directory, made absolute; refuses --pre-dump, --lazy-pages and a missing --image-path for <paramref name="verb"/>.</summary>
    protected string CheckedImagePath(string verb, string preDumpMessage)
    {
        if (PreDump) throw new RuntimeError($"{verb}: {preDumpMessage}");
        if (LazyPages) throw new RuntimeError($"{verb}: --lazy-pages is not supported");
        if (string.IsNullOrEmpty(ImagePath)) throw new RuntimeError($"{verb}: --image-path is required");
        return Path.GetFullPath(ImagePath);
    }

    /// <summary>The --image-key file's bytes, or null without the flag; a missing or empty file is a one-line error.</summary>
    protected byte[]? ImageKeyBytes()
    {
        if (ImageKey == null) return null;
        try
        {
            return StateFile.Checkpoint.ImageSignature.ReadKey(ImageKey);
        }
        catch (StateFile.Checkpoint.CheckpointImageException e)
        {
            throw new RuntimeError(e.Message);
        }
    }
}
