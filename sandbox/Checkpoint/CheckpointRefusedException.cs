namespace RunscNet.Sentry.Checkpoint;

/// <summary>The sandbox holds something a checkpoint cannot save yet; the message names it and its process.</summary>
internal sealed class CheckpointRefusedException : Exception
{
    /// <summary>A refusal with a one-line <paramref name="message"/>.</summary>
    public CheckpointRefusedException(string message) : base(message) { }
}
