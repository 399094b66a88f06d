using RunscNet.StateFile;
using System.Globalization;
using System.Text.Json;
using RunscNet.Runtime.Cli.Commands;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>The resources `update` asks for: a JSON file (-r) and/or runc's flags, which win over the file.</summary>
public static class ResourceUpdate
{
    /// <summary>Reads -r and the flags into one <see cref="Resources"/>; throws <see cref="RuntimeError"/> for bad input.</summary>
    public static Resources Parse(UpdateCommand flags)
    {
        Resources r = flags.Resources == null ? new Resources() : ReadFile(flags.Resources);
        if (flags.Memory != null) (r.Memory ??= new()).Limit = Bytes("--memory", flags.Memory);
        if (flags.MemoryReservation != null) (r.Memory ??= new()).Reservation = Bytes("--memory-reservation", flags.MemoryReservation);
        if (flags.MemorySwap != null) (r.Memory ??= new()).Swap = Bytes("--memory-swap", flags.MemorySwap);
        if (flags.CpuShares != null) (r.Cpu ??= new()).Shares = flags.CpuShares;
        if (flags.CpuPeriod != null) (r.Cpu ??= new()).Period = flags.CpuPeriod;
        if (flags.CpuQuota != null) (r.Cpu ??= new()).Quota = flags.CpuQuota;
        if (flags.CpusetCpus != null) (r.Cpu ??= new()).Cpus = flags.CpusetCpus;
        if (flags.CpusetMems != null) (r.Cpu ??= new()).Mems = flags.CpusetMems;
        if (flags.PidsLimit != null) r.Pids = new PidsResources { Limit = flags.PidsLimit.Value };
        return r;
    }

    private static Resources ReadFile(string path)
    {
        try
        {
            byte[] json = path == "-" ? ReadStdin() : File.ReadAllBytes(path);
            return JsonSerializer.Deserialize(json, OciJsonContext.Default.Resources)
                ?? throw new RuntimeError($"update: {path}: empty resources");
        }
        catch (JsonException e)
        {
            throw new RuntimeError($"update: {(path == "-" ? "standard input" : path)}: malformed resources JSON: {e.Message}");
        }
        catch (IOException e)
        {
            throw new RuntimeError($"update: reading {path}: {e.Message}");
        }
    }

    private static byte[] ReadStdin()
    {
        using var stdin = RawStdio.Open(0);
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>A byte count as runc's flags take it: a number with an optional k/m/g(/b) suffix, or -1.</summary>
    public static long Bytes(string flag, string text)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t == "-1") return -1;
        long unit = 1;
        if (t.EndsWith('b')) t = t[..^1];
        if (t.EndsWith('k')) { unit = 1L << 10; t = t[..^1]; }
        else if (t.EndsWith('m')) { unit = 1L << 20; t = t[..^1]; }
        else if (t.EndsWith('g')) { unit = 1L << 30; t = t[..^1]; }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue / unit)
            throw new RuntimeError($"update: {flag} {text}: not a size (a number with an optional k, m or g suffix)");
        return n * unit;
    }
}
