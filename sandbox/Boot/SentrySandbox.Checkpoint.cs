using Microsoft.Win32.SafeHandles;
using RunscNet.Sentry.Checkpoint;
using RunscNet.Sentry.Kernel;
using RunscNet.StateFile.Checkpoint;

namespace RunscNet.Sentry.Boot;

internal sealed partial class SentrySandbox
{
    /// <summary>How long tasks get to reach a safe point.</summary>
    private static readonly TimeSpan SafePointTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Held while a checkpoint runs: a second one is refused, never interleaved.</summary>
    private readonly object _checkpointLock = new();

    /// <inheritdoc/>
    public void Checkpoint(int imageFd, string containerId, string runtimeVersion, bool leaveRunning)
    {
        lock (_joined)
            if (_joined.Count > 0)
                throw new InvalidOperationException($"checkpoint: the sandbox holds {_joined.Count} other container(s) of a pod; a pod cannot be saved yet");
        if (!Monitor.TryEnter(_checkpointLock)) throw new InvalidOperationException("checkpoint: another checkpoint of this sandbox is in progress");
        try
        {
            CheckpointLocked(imageFd, containerId, runtimeVersion, leaveRunning);
        }
        finally
        {
            Monitor.Exit(_checkpointLock);
        }
    }

    private void CheckpointLocked(int imageFd, string containerId, string runtimeVersion, bool leaveRunning)
    {
        if (Kernel.Init == null || Kernel.InitExited.IsSet) throw new InvalidOperationException("checkpoint: the container is not running");
        bool wasPaused = Kernel.Paused;
        bool saved = false;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var snapshots = Kernel.Checkpoints.CaptureAll(Kernel, SafePointTimeout);
            long stopped = clock.ElapsedMilliseconds;
            // The fd is the caller's temporary file; the control server closes it after the reply.
            using var output = new FileStream(new SafeFileHandle(imageFd, ownsHandle: false), FileAccess.Write, 1 << 16);
            var writer = new ImageWriter(output, new ImageHeader
            {
                RunscNetVersion = runtimeVersion,
                Created = DateTimeOffset.UtcNow,
                ContainerId = containerId,
                SandboxId = containerId,
                Platform = PlatformName,
                CpuFeatures = CpuFeatures.Host(),
            });
            var graph = new SandboxSaver(Kernel, snapshots, _stdio, _consoleFd).Save(writer);
            writer.Finish(graph);
            saved = true;
            Kernel.Log.Write($"checkpoint: tasks stopped in {stopped} ms, image written in {clock.ElapsedMilliseconds - stopped} ms ({writer.PageCount} pages, SHA-256 by {(Sha256.IsNative ? "OpenSSL" : "managed code")})");
            foreach (var p in graph.Processes)
            {
                if (p.Memory == null) continue;
                string vmas = string.Join(", ", p.Memory.Vmas.Select(v => $"{v.Start:x}-{v.End:x} {(v.FilePath.Length > 0 ? v.FilePath : v.Name ?? "anon")} {v.SavedPages.Length / 4}/{(v.End - v.Start) / 4096}"));
                Kernel.Log.Write($"checkpoint: pid {p.Pid}: {p.Fds.Count} fds, pages saved per mapping: {vmas}");
            }
        }
        catch (CheckpointRefusedException e)
        {
            throw new InvalidOperationException(e.Message);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"checkpoint: writing the image: {e.Message}");
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            Kernel.Log.Write($"{RunscNet.Sentry.Kernel.DebugLog.SentryErrorMarker} checkpoint failed: {e}");
            throw new InvalidOperationException($"checkpoint: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            Kernel.Checkpoints.End();
            if (saved && !leaveRunning) Kernel.KillAll();
            else if (!wasPaused) Kernel.ResumeAll();
        }
        Kernel.Log.Write($"checkpoint: image written ({(leaveRunning ? "left running" : "container ends")})");
    }

    /// <inheritdoc/>
    public void Restore(int imageFd, string imageDigest)
    {
        lock (_startLock)
        {
            if (_started) throw new InvalidOperationException("the container was already started");
            _started = true;
        }
        if (imageDigest.Length == 0) throw new InvalidOperationException("restore: the runtime sent no verified image digest");
        // The fd is the runtime's; the control server closes it after the reply. The stream stays
        // open while the restorer reads pages from it.
        using var input = new FileStream(new SafeFileHandle(imageFd, ownsHandle: false), FileAccess.Read, 1 << 16);
        ImageReader image;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            // Page chunks are checked as they are read (the runtime checked them all already).
            // Page chunks are checked against the table the runtime's digest pins.
            image = ImageReader.Read(input, "(restore)", verifyPages: false, expectedImageDigest: imageDigest);
        }
        catch (CheckpointImageException e)
        {
            throw new InvalidOperationException(e.Message);
        }
        Kernel.Log.Write($"restore: image read and verified in {clock.ElapsedMilliseconds} ms ({image.PageCount} pages, SHA-256 by {(Sha256.IsNative ? "OpenSSL" : "managed code")})");
        try
        {
            var process = _spec.Process;
            ulong bound = Capabilities.FromNames(process?.Capabilities?.Bounding, Credentials.AllCaps);
            new SandboxRestorer(Kernel, image, _stdio, _consoleFd, bound, process?.NoNewPrivileges == true, _seccomp).Restore();
        }
        catch (CheckpointImageException e)
        {
            throw new InvalidOperationException(e.Message);
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            // A Sentry bug, not a bad image: the whole trace goes to the debug log.
            Kernel.Log.Write($"{RunscNet.Sentry.Kernel.DebugLog.SentryErrorMarker} restore failed: {e}");
            throw new InvalidOperationException($"restore: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            image.Quiesce();
        }
        Kernel.Log.Write($"restore: rebuilt in {clock.ElapsedMilliseconds} ms (page chunks read and checked: {image.PageReadTime.TotalMilliseconds:F0} ms, partly in parallel)");
    }

    /// <summary>The platform's name as the image records it.</summary>
    private string PlatformName => Kernel.Platform.GetType().Name.Replace("Platform", "", StringComparison.Ordinal).ToLowerInvariant();
}
