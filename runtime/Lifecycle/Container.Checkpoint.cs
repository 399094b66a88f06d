using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Logging;
using RunscNet.Sentry.Control;
using RunscNet.StateFile;
using RunscNet.StateFile.Checkpoint;

namespace RunscNet.Runtime.Lifecycle;

public sealed partial class Container
{
    /// <summary>
    /// `checkpoint`: asks the sandbox to write its image into a temporary file of
    /// <paramref name="imageDir"/>, renames it to <see cref="CheckpointImage.FileName"/> (replacing
    /// an older image) and writes the inventory marker. Without <paramref name="leaveRunning"/> the
    /// container ends. On failure no image is left and the container runs on. In
    /// <paramref name="workDir"/> an empty <c>stats-dump</c> is left, the CRIU statistics file
    /// podman's `checkpoint --export` packs (it logs an error when the file is missing).
    /// With <paramref name="imageKey"/> the runtime signs the image (HMAC-SHA256, <see cref="ImageSignature"/>)
    /// once the Sentry wrote it; the key never reaches the sandbox.
    /// </summary>
    public void Checkpoint(string imageDir, string? workDir, bool leaveRunning, byte[]? imageKey = null)
    {
        using var stateFile = LockAndRefresh();
        if (!FullId.IsSandboxRoot)
            throw new RuntimeError($"cannot checkpoint container {Id}: it joined sandbox {FullId.SandboxId} (a pod), which cannot be saved yet");
        ContainerStatus status = CurrentStatus();
        if (status is not (ContainerStatus.Running or ContainerStatus.Paused))
            throw new RuntimeError($"cannot checkpoint container {Id}: it is {status.ToOciString()}, not running or paused");
        Directory.CreateDirectory(imageDir);
        string final = Path.Combine(imageDir, CheckpointImage.FileName);
        string temp = Path.Combine(imageDir, $".{CheckpointImage.FileName}.{Environment.ProcessId}.tmp");
        try
        {
            // Mode 0600: the image holds the application's memory.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
            if (OperatingSystem.IsLinux()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var file = new FileStream(temp, options))
            {
                int fd = (int)file.SafeFileHandle.DangerousGetHandle();
                Control().Call(new ControlRequest { Operation = ControlOperation.Checkpoint, ImageContainerId = Id, LeaveRunning = leaveRunning, RuntimeVersion = RuntimeVersion.Version },
                    [fd], TimeSpan.FromMinutes(10));
                if (imageKey != null) ImageSignature.Sign(file, imageKey);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, final, overwrite: true);
            File.WriteAllText(Path.Combine(imageDir, CheckpointImage.InventoryFileName),
                $"runsc-net checkpoint image: {CheckpointImage.FileName} (format version {CheckpointImage.FormatVersion})\n");
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
        if (workDir != null)
        {
            try
            {
                Directory.CreateDirectory(workDir);
                File.WriteAllBytes(Path.Combine(workDir, "stats-dump"), []);
            }
            catch (IOException e)
            {
                RuntimeLog.Warning($"checkpoint: --work-path {workDir}: {e.Message}");
            }
        }
        RuntimeLog.Debug($"container {Id}: checkpoint written to {final}");
        if (leaveRunning) return;
        // The sandbox ends once its reply is out: wait, so `delete` right after finds it stopped.
        Sandbox.WaitGone(State.Pid, State.PidStartTime, TimeSpan.FromSeconds(10));
        State.Status = ContainerStatus.Stopped;
        stateFile.SaveLocked(State);
    }

    /// <summary>
    /// `restore`: verifies the image in <paramref name="imageDir"/>, creates a new sandbox for the
    /// bundle and has it rebuild the saved processes, which then run. The pid file is written once
    /// they run. On failure the new container is deleted again. <paramref name="imageKey"/>: the
    /// --image-key bytes; a signed image needs them and they must match (checked here, first).
    /// </summary>
    public static Container Restore(CreateOptions options, string imageDir, GlobalOptions global, byte[]? imageKey = null)
    {
        string image = Path.Combine(imageDir, CheckpointImage.FileName);
        // A truncated, foreign, other-version or altered image is refused here, with one line.
        // The magic, version, sizes, image and graph SHA-256 and the HMAC (cheap) are checked
        // before anything starts. The page chunks' SHA-256 (most of the bytes: ~125 ms for 200 MiB)
        // are checked meanwhile the new sandbox is made, on other threads; the restore is sent
        // only once they all matched, else the new sandbox is deleted, so no application code
        // runs from a damaged image and no process is left. The Sentry gets the verified image
        // SHA-256 (the hash tree's root) with the fd and refuses an image that does not hash to it,
        // then checks each chunk against the table that root pins as it reads it: what it uses is
        // what was checked here, HMAC included, even if the file is changed or replaced meanwhile.
        ImageReader checkedImage;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            checkedImage = ImageReader.ReadFile(image, imageKey, decodeGraph: false, verifyPages: false);
        }
        catch (CheckpointImageException e)
        {
            throw new RuntimeError(e.Message);
        }
        ImageHeader header = checkedImage.Header;
        var missing = CpuFeatures.Missing(header.CpuFeatures, CpuFeatures.Host());
        if (missing.Count > 0)
            throw new RuntimeError($"checkpoint image {image} was made on a CPU with features this one lacks: {string.Join(' ', missing.Take(12))}");
        var pagesChecked = System.Threading.Tasks.Task.Factory.StartNew(() => checkedImage.VerifyPages(image),
            CancellationToken.None, System.Threading.Tasks.TaskCreationOptions.LongRunning, System.Threading.Tasks.TaskScheduler.Default);
        Container container;
        try
        {
            container = Create(options with { PidFile = null }, global);
        }
        catch
        {
            // The check must not outlive this call, nor its failure go unseen.
            try { pagesChecked.Wait(); } catch (AggregateException) { }
            throw;
        }
        try
        {
            pagesChecked.GetAwaiter().GetResult();
            RuntimeLog.Debug($"restore: image {image} verified in {clock.ElapsedMilliseconds} ms (pages beside the sandbox's creation)");
        }
        catch (Exception e)
        {
            ContainerRun.TryDelete(global.Root, container.Id);
            throw new RuntimeError(e is CheckpointImageException ? e.Message : $"checkpoint image {image}: {e.Message}");
        }
        try
        {
            using var stateFile = container.LockAndRefresh();
            using (var file = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                int fd = (int)file.SafeFileHandle.DangerousGetHandle();
                container.Control().Call(new ControlRequest { Operation = ControlOperation.Restore, ImageDigest = checkedImage.ImageDigestHex }, [fd], TimeSpan.FromMinutes(10));
            }
            container.State.Status = ContainerStatus.Running;
            stateFile.SaveLocked(container.State);
            if (options.PidFile != null) PidFile.Write(options.PidFile, container.State.Pid);
        }
        catch
        {
            ContainerRun.TryDelete(global.Root, container.Id);
            throw;
        }
        return container;
    }
}
