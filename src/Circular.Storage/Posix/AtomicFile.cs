namespace Circular.Storage.Posix;

/// <summary>Replaces a small file atomically: readers see the old content or the new, never a partial file.</summary>
public static class AtomicFile
{
    /// <param name="durable">fsync before the rename, for state that must survive a power loss.</param>
    public static void Write(string path, ReadOnlySpan<byte> data, bool durable)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string tmp = $"{path}.tmp-{Environment.ProcessId}-{Random.Shared.Next():x8}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                fs.Write(data);
                if (durable) fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}
