using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>
/// Random bytes from the host kernel (getrandom(2)). Used instead of the .NET cryptography
/// classes, which load the host's OpenSSL (several MiB of resident memory in every sandbox).
/// </summary>
internal static unsafe class HostRandom
{
    /// <summary>Fills <paramref name="destination"/> (blocks only until the host's pool is initialized, as at boot).</summary>
    public static void Fill(Span<byte> destination)
    {
        fixed (byte* p = destination)
        {
            int done = 0;
            while (done < destination.Length)
            {
                nint n = LibcCalls.GetRandom(p + done, (nuint)(destination.Length - done), 0);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == 4) continue;   // EINTR
                    throw new IOException($"getrandom failed (errno {Marshal.GetLastPInvokeError()})");
                }
                done += (int)n;
            }
        }
    }
}
