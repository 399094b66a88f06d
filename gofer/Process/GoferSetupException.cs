using System.Runtime.InteropServices;

namespace RunscNet.Gofer.Process;

/// <summary>A step of the gofer's setup failed; the message names the step and the path.</summary>
internal sealed class GoferSetupException : Exception
{
    public GoferSetupException(string message)
        : base(message)
    {
    }

    /// <summary>"<paramref name="what"/>: strerror(errno)" for a negative errno result.</summary>
    public static GoferSetupException FromErrno(string what, int negativeErrno) =>
        new($"{what}: {Marshal.GetPInvokeErrorMessage(-negativeErrno)}");
}
