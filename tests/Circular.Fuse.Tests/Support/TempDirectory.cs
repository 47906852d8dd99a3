namespace Circular.Fuse.Tests.Support;

/// <summary>A fresh directory under /tmp, removed (after unmounting anything left on or under it) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "circular-fuse-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public string Path { get; }

    public string Sub(string name)
    {
        string path = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        Mounts.ForceUnmountUnder(Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A mount that refused to go away; ForceUnmountUnder already tried its best.
        }
    }
}
