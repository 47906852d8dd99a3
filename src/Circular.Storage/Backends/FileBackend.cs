using System.Runtime.CompilerServices;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Posix;

namespace Circular.Storage.Backends;

/// <summary>An archive in a local directory. Writes go to a temporary file in the same directory, then rename.</summary>
public sealed class FileBackend : IArchiveBackend, ILocalObjects
{
    private readonly string _root;

    public FileBackend(string root) => _root = Path.GetFullPath(root);

    public string Location => _root;
    public bool IsWritable => true;

    public string FullPath(string path) => Path.Combine(_root, path);

    public string FullPath(ObjectHandle handle) => FullPath(handle.Path);

    public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        string full = FullPath(handle);
        try
        {
            var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
            await using (fs.ConfigureAwait(false))
            {
                if (fs.Length > handle.MaxLength)
                    throw new ArchiveFormatException($"{full} is {fs.Length} bytes, more than any valid {handle.Kind} object ({handle.MaxLength})");
                byte[] data = new byte[fs.Length];
                int n = await fs.ReadAtLeastAsync(data, data.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                return new BackendObject(n == data.Length ? data : data[..n], full);
            }
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    public async Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        string path = handle.Path;
        string full = FullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".tmp-{Path.GetFileName(full)}-{Environment.ProcessId}-{Random.Shared.Next():x8}");
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                await fs.WriteAsync(data, ct).ConfigureAwait(false);
                // Chunks are made durable together by one syncfs before anything points at them (WritableArchive).
                if (handle.Kind != ObjectKind.Chunk) fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (IOException e)
        {
            TryDelete(tmp);
            throw IoErrors.Writing($"{handle.Kind.ToString().ToLowerInvariant()} {path}", _root, e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => Task.FromResult(File.Exists(FullPath(handle)));

    /// <summary>Everything here is read without the network.</summary>
    public bool HoldsLocally(ObjectHandle handle) => true;

    public async IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, [EnumeratorCancellation] CancellationToken ct)
    {
        string full = FullPath(ArchiveLayout.DirectoryOf(kind, image));
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
    public void SyncFileSystem()
    {
        // Any file of the archive names its file system; before circular.json exists (init, a new mirror) nothing
        // written so far is pointed at yet, and every non-chunk write is fsynced on its own.
        string anchor = FullPath(Core.Archive.ArchiveLayout.ConfigPath);
        if (File.Exists(anchor)) Libc.SyncFs(anchor);
    }

    private static void TryDelete(string p)
    {
        try { File.Delete(p); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
