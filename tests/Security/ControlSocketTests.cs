using System.Diagnostics;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Issue 10 item 5: the control socket. Created under `umask 000`, it is still mode 0600 and a
/// root directory runsc-net makes is 0700; a client of another uid (65534) cannot connect, and
/// even when the file mode is opened up behind the runtime's back the sandbox refuses it
/// (SO_PEERCRED) while root is still served.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlSocketTests
{
    private static CommandResult CreateUnderUmask000(string root, string bundle, string id)
    {
        string runsc = RunscNetBinary.Path!;
        return SecurityProbe.Exec("/bin/sh", ["-c", "umask 000; exec \"$0\" --root \"$1\" create --bundle \"$2\" \"$3\" </dev/null >/dev/null 2>&1",
            runsc, root, bundle, id]);
    }

    [IntegrationFact]
    public void SocketIsPrivateAndOtherUidsAreRefused()
    {
        using var probe = new SecurityProbe();
        string root = Path.Combine(probe.TempDir(), "state");   // does not exist yet: runsc-net makes it
        string bundle = Bundles.Make("sleep", "60");
        string id = "ctl-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            var created = CreateUnderUmask000(root, bundle, id);
            Assert.True(created.ExitCode == 0, created.Stdout + created.Stderr);
            string socket = Path.Combine(root, id + ".sock");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(root));

            string client = SecurityProbe.Compile("ctlclient");
            File.SetUnixFileMode(Path.GetDirectoryName(client)!, (UnixFileMode)0x1ed);
            // The modes stop another uid at the file system...
            File.SetUnixFileMode(Path.GetDirectoryName(root)!, (UnixFileMode)0x1ed);
            File.SetUnixFileMode(root, (UnixFileMode)0x1ed);
            Assert.Equal("connect: EACCES\n", SecurityProbe.Exec(client, [socket, "65534"]).Stdout);
            // ...and the sandbox itself refuses it when they do not.
            File.SetUnixFileMode(socket, (UnixFileMode)0x1b6);
            Assert.Equal("closed without a reply\n", SecurityProbe.Exec(client, [socket, "65534"]).Stdout);
            Assert.StartsWith("reply: ", SecurityProbe.Exec(client, [socket, "0"]).Stdout);
            // The container is untouched and still answers its owner.
            Assert.Contains("created", RunscNetBinary.RunWithoutRoot("--root", root, "state", id).Stdout);
        }
        finally
        {
            RunscNetBinary.RunWithoutRoot("--root", root, "delete", "--force", id);
            Directory.Delete(bundle, recursive: true);
        }
    }
}
