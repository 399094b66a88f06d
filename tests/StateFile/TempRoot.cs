namespace RunscNet.Tests.StateFile;

/// <summary>A fresh temporary root directory, removed on dispose.</summary>
public sealed class TempRoot : IDisposable
{
    /// <summary>Creates the directory.</summary>
    public TempRoot()
    {
        Path = Directory.CreateTempSubdirectory("runsc-net-test-").FullName;
    }

    /// <summary>Its absolute path.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
