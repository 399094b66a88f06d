using ProtoBuf;

namespace RunscNet.Sentry.Control;

/// <summary>What a control request asks of the sandbox.</summary>
public enum ControlOperation
{
    /// <summary>No operation: tells the caller the sandbox is up and serving.</summary>
    Ping = 1,
    /// <summary>Start the container's init (<see cref="ISandboxControl.Start"/>).</summary>
    Start = 2,
    /// <summary>Signal init or every process (<see cref="ISandboxControl.Signal"/>).</summary>
    Signal = 3,
    /// <summary>List processes (<see cref="ISandboxControl.Processes"/>).</summary>
    Processes = 4,
    /// <summary>Run a new process (<see cref="ISandboxControl.Exec"/>); stdio fds travel as SCM_RIGHTS.</summary>
    Exec = 5,
    /// <summary>Wait for a process (<see cref="ISandboxControl.Wait"/>); pid 0 means init.</summary>
    Wait = 6,
    /// <summary>Stop every task (<see cref="ISandboxControl.Pause"/>).</summary>
    Pause = 7,
    /// <summary>Continue every task (<see cref="ISandboxControl.Resume"/>).</summary>
    Resume = 8,
    /// <summary>Calls the Sentry does not implement, per program (<see cref="ISandboxControl.UnimplementedCalls"/>).</summary>
    Unimplemented = 9,
    /// <summary>Every task's state and system call (<see cref="ISandboxControl.Stacks"/>).</summary>
    Stacks = 10,
    /// <summary>
    /// Add a container to the sandbox (<see cref="ISubcontainerControl.CreateContainer"/>): its
    /// spec in <see cref="ControlRequest.SpecJson"/>, fds = its gofer socket end, then stdin, stdout, stderr.
    /// </summary>
    CreateContainer = 11,
    /// <summary>Kill a joined container's processes and drop its mounts and gofer (<see cref="ISubcontainerControl.DestroyContainer"/>).</summary>
    DestroyContainer = 12,
    /// <summary>Save the sandbox to the image fd sent with the request (<see cref="ISandboxControl.Checkpoint"/>).</summary>
    Checkpoint = 13,
    /// <summary>Rebuild the sandbox from the image fd sent with the request (<see cref="ISandboxControl.Restore"/>).</summary>
    Restore = 14,
}

/// <summary>One request on the control socket (runtime → sandbox).</summary>
[ProtoContract]
public sealed class ControlRequest
{
    /// <summary>The operation.</summary>
    [ProtoMember(1)] public ControlOperation Operation { get; set; }

    /// <summary>Signal number (Signal).</summary>
    [ProtoMember(2)] public int Signal { get; set; }

    /// <summary>Signal every process, not only init (Signal).</summary>
    [ProtoMember(3)] public bool All { get; set; }

    /// <summary>Process to wait for, in the sandbox's PID namespace; 0 = init (Wait).</summary>
    [ProtoMember(4)] public int Pid { get; set; }

    /// <summary>argv of the new process (Exec).</summary>
    [ProtoMember(5)] public List<string> Args { get; set; } = new();

    /// <summary>Environment of the new process, NAME=VALUE (Exec).</summary>
    [ProtoMember(6)] public List<string> Env { get; set; } = new();

    /// <summary>Working directory (Exec).</summary>
    [ProtoMember(7), System.ComponentModel.DefaultValue("/")] public string Cwd { get; set; } = "/";

    /// <summary>User id (Exec).</summary>
    [ProtoMember(8)] public uint Uid { get; set; }

    /// <summary>Group id (Exec).</summary>
    [ProtoMember(9)] public uint Gid { get; set; }

    /// <summary>
    /// Supplementary groups as decimal text (Exec): protobuf-net under NativeAOT cannot build the
    /// serializer of a repeated value-type field (its generic instantiation has no native code).
    /// </summary>
    [ProtoMember(10)] public List<string> AdditionalGids { get; set; } = new();

    /// <summary>The process gets a terminal (Exec).</summary>
    [ProtoMember(11)] public bool Terminal { get; set; }

    /// <summary>
    /// The container the request is about when it joined the sandbox; empty for the sandbox's
    /// root container (requests of runtimes before pods carry none).
    /// </summary>
    [ProtoMember(12)] public string ContainerId { get; set; } = "";

    /// <summary>The joining container's validated spec as JSON (CreateContainer).</summary>
    [ProtoMember(13)] public string SpecJson { get; set; } = "";

    /// <summary>The container's ID, recorded in the image (Checkpoint).</summary>
    [ProtoMember(14)] public string? ImageContainerId { get; set; }

    /// <summary>Keep the container running after the image is written (Checkpoint).</summary>
    [ProtoMember(15)] public bool LeaveRunning { get; set; }

    /// <summary>The runtime's version, recorded in the image (Checkpoint).</summary>
    [ProtoMember(16)] public string? RuntimeVersion { get; set; }

    /// <summary>
    /// Wait for a process (Pid &gt; 0): SIGKILL it when the caller hangs up before it exits. The
    /// waiter `exec --detach` leaves stands for the process on the host, so killing the waiter
    /// (containerd's exec timeout) kills the process, as killing an exec'd pid does under runc.
    /// </summary>
    [ProtoMember(17)] public bool KillOnHangup { get; set; }

    /// <summary>
    /// Restore: the image's SHA-256 (hash-tree root, hex) as the runtime verified it, HMAC
    /// included. The Sentry reads the image again from the fd and refuses it unless it hashes to
    /// this, so a file changed or swapped after the runtime's check is never used.
    /// </summary>
    [ProtoMember(18)] public string? ImageDigest { get; set; }
}

/// <summary>A process as the control protocol carries it (see <see cref="ProcessInfo"/>).</summary>
[ProtoContract]
public sealed class ControlProcess
{
    [ProtoMember(1)] public int Pid { get; set; }
    [ProtoMember(2)] public int PPid { get; set; }
    [ProtoMember(3)] public uint Uid { get; set; }
    [ProtoMember(4)] public string Command { get; set; } = "";
    [ProtoMember(5)] public string State { get; set; } = "";
    [ProtoMember(6)] public long StartTimeTicks { get; set; }
}

/// <summary>One program's count of one unimplemented call (see <see cref="UnimplementedCall"/>).</summary>
[ProtoContract]
public sealed class ControlUnimplemented
{
    [ProtoMember(1)] public string Program { get; set; } = "";
    [ProtoMember(2)] public int Number { get; set; }
    [ProtoMember(3)] public string Name { get; set; } = "";
    [ProtoMember(4)] public long Count { get; set; }
}

/// <summary>A task as the control protocol carries it (see <see cref="TaskStack"/>).</summary>
[ProtoContract]
public sealed class ControlTask
{
    [ProtoMember(1)] public int Tid { get; set; }
    [ProtoMember(2)] public int Pid { get; set; }
    [ProtoMember(3)] public string Name { get; set; } = "";
    [ProtoMember(4)] public string State { get; set; } = "";
    /// <summary>The system call the task is in, plus one (0: none), so the default encodes as absent.</summary>
    [ProtoMember(5)] public int SyscallPlusOne { get; set; }
    [ProtoMember(6)] public string SyscallName { get; set; } = "";
}

/// <summary>The answer to one request (sandbox → runtime).</summary>
[ProtoContract]
public sealed class ControlResponse
{
    /// <summary>A one-line error for the user; null or empty on success.</summary>
    [ProtoMember(1)] public string? Error { get; set; }

    /// <summary>Pid of the new process (Exec).</summary>
    [ProtoMember(2)] public int Pid { get; set; }

    /// <summary>Wait status as wait(2) encodes it (Wait).</summary>
    [ProtoMember(3)] public int WaitStatus { get; set; }

    /// <summary>The processes (Processes).</summary>
    [ProtoMember(4)] public List<ControlProcess> Processes { get; set; } = new();

    /// <summary>Unimplemented calls per program (Unimplemented).</summary>
    [ProtoMember(5)] public List<ControlUnimplemented> Unimplemented { get; set; } = new();

    /// <summary>The tasks (Stacks).</summary>
    [ProtoMember(6)] public List<ControlTask> Tasks { get; set; } = new();
}

