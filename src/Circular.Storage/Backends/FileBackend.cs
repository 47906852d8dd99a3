using System.Runtime.CompilerServices;
using Circular.Storage.Posix;

namespace Circular.Storage.Backends;

/// <summary>An archive in a local directory. Writes go to a temporary file in the same directory, then rename.</summary>
public sealed class FileBackend : IArchiveBackend
{
    private readonly string _root;

    public FileBackend(string root) => _root = Path.GetFullPath(root);

    public string Location => _root;
    public bool IsWritable => true;

    public string FullPath(string path) => Path.Combine(_root, path);

    public async Task<BackendObject?> TryReadAsync(string path, ReadHints hints, CancellationToken ct)
    {
        string full = FullPath(path);
        try
        {
            return new BackendObject(await File.ReadAllBytesAsync(full, ct).ConfigureAwait(false), full);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    public async Task WriteAsync(string path, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        string full = FullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".tmp-{Path.GetFileName(full)}-{Environment.ProcessId}-{Random.Shared.Next():x8}");
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                await fs.WriteAsync(data, ct).ConfigureAwait(false);
                if (!path.StartsWith("chunks/", StringComparison.Ordinal)) fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public Task<bool> ExistsAsync(string path, CancellationToken ct) => Task.FromResult(File.Exists(FullPath(path)));

    public async IAsyncEnumerable<BackendEntry> ListAsync(string directory, [EnumeratorCancellation] CancellationToken ct)
    {
        string full = FullPath(directory);
        if (!Directory.Exists(full)) yield break;
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 };
        foreach (var f in new DirectoryInfo(full).EnumerateFiles("*", opts))
        {
            ct.ThrowIfCancellationRequested();
            string rel = Path.GetRelativePath(_root, f.FullName).Replace('\\', '/');
            yield return new BackendEntry(rel, f.Length, f.LastWriteTimeUtc);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string path, CancellationToken ct)
    {
        TryDelete(FullPath(path));
        return Task.CompletedTask;
    }

    /// <summary>Makes every write so far durable (one syncfs for the whole file system, not an fsync per chunk).</summary>
    public void SyncFileSystem() => Libc.SyncFs(FullPath(Core.Archive.ArchiveLayout.ConfigPath));

    private static void TryDelete(string p)
    {
        try { File.Delete(p); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
