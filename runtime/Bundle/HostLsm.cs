namespace RunscNet.Runtime.Bundle;

/// <summary>Which Linux security modules this host runs (for the spec's apparmorProfile, selinuxLabel, mountLabel).</summary>
public static class HostLsm
{
    /// <summary>AppArmor is loaded and enabled (what runc's apparmor.IsEnabled reads).</summary>
    public static bool AppArmorEnabled => ReadTrimmed("/sys/module/apparmor/parameters/enabled") == "Y";

    /// <summary>SELinux is mounted (selinuxfs, as libselinux's is_selinux_enabled looks for it).</summary>
    public static bool SelinuxEnabled => File.Exists("/sys/fs/selinux/enforce");

    private static string? ReadTrimmed(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
