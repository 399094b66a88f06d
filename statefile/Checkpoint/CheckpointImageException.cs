namespace RunscNet.StateFile.Checkpoint;

/// <summary>A checkpoint image that cannot be used (damaged, foreign, another version); the message is one line for the user.</summary>
public sealed class CheckpointImageException : Exception
{
    /// <summary>An image refused with <paramref name="message"/>.</summary>
    public CheckpointImageException(string message) : base(message) { }
}
