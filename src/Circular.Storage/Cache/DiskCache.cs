using System.Security.Cryptography;
using System.Text;
using Circular.Storage.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Storage.Cache;

/// <summary>
/// The client's persistent cache directory (docs/cache.md): chunk files shared by every archive, image and run
/// (they are content-addressed and verified on every use), plus per-archive copies of metadata for offline use.
/// Chunks are bounded by a quota and evicted least recently used first.
/// </summary>
public sealed class DiskCache
{
    public const long DefaultQuota = 4L << 30;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Size, long LastUse)> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _touched = new(StringComparer.Ordinal);
    private long _total;
    private long _clock;
    private long _hits, _misses, _evicted;

    public DiskCache(string root, long quota)
    {
        Root = Path.GetFullPath(root);
        Quota = quota;
        Directory.CreateDirectory(Path.Combine(Root, "chunks"));
        Load();
    }

    public string Root { get; }
    public long Quota { get; }
    /// <summary>Where the one warning about a cache that cannot be written (a full disk) goes.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;
    private int _warnedUnwritable;
    private int _warnedUnreadable;
    public long Total { get { lock (_lock) return _total; } }
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long Evicted => Interlocked.Read(ref _evicted);

    public static string DefaultRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string baseDir = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "circular");
    }

    /// <summary>Directory holding metadata copies of one archive, named by a hash of its first URL.</summary>
    public string MetadataDir(string archiveLocation)
    {
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(archiveLocation)))[..16];
        return Path.Combine(Root, "archives", key);
    }

    /// <summary>Relative path "chunks/ab/abcd…" maps to the shared chunk directory.</summary>
    public string ChunkFile(string relative) => Path.Combine(Root, relative);

    public byte[]? TryReadChunk(string relative)
    {
        using var pooled = TryReadChunkPooled(relative, relative);
        return pooled?.ToBackendObject().Data;
    }

    /// <summary>
    /// Like <see cref="TryReadChunk"/>, into a buffer rented from ArrayPool&lt;byte&gt;.Shared (the caller disposes
    /// the result). Warm reads go through here: a new array per cached chunk was most of their garbage collection.
    /// </summary>
    public Backends.PooledObject? TryReadChunkPooled(string relative, string source)
    {
        string full = ChunkFile(relative);
        // A cold read misses on every chunk: answering from the index (or a stat for chunks another process may have
        // added) avoids a FileNotFoundException per chunk, which cost more CPU than writing the chunk to the cache.
        if (!Indexed(relative) && !File.Exists(full))
        {
            Missed(relative);
            return null;
        }
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try { handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Missed(relative);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Unreadable(relative, e);
            return null;
        }
        using (handle)
        {
            long length = RandomAccess.GetLength(handle);
            // Nothing this large is ever stored (chunk files are about 4 MiB at most): a damaged cache, not a chunk.
            if (length > Core.Archive.ObjectHandle.MaxChunkFileLength)
            {
                Drop(relative);
                Missed(relative);
                return null;
            }
            byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                int n = Posix.PositionalRead.Fully(handle, buf.AsSpan(0, (int)length), 0);
                // A short read (the file shrank under us) is caught by verification like any other bad copy.
                if (Hit(relative, full, n))
                    try { File.SetLastWriteTimeUtc(handle, DateTime.UtcNow); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                return Backends.PooledObject.FromRented(buf, n, source);
            }
            catch (Exception e)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buf);
                if (e is not IOException) throw;
                Unreadable(relative, e);
                return null;
            }
        }
    }

    /// <summary>
    /// A cache disk that fails reads (EIO) must not fail the read either: the chunk counts as missing and is fetched
    /// from the archive (and stored again, which replaces the unreadable copy once the disk works), said once.
    /// </summary>
    private void Unreadable(string relative, Exception e)
    {
        Missed(relative);
        WarnUnreadable(e);
    }

    /// <summary>The one warning that the cache cannot be read.</summary>
    public void WarnUnreadable(Exception e)
    {
        if (Interlocked.Exchange(ref _warnedUnreadable, 1) == 0)
            Log.CacheUnreadable(Root, e is IOException io ? Posix.IoErrors.Reason(io) : e.Message);
    }

    private bool Indexed(string relative)
    {
        lock (_lock) return _entries.ContainsKey(relative);
    }

    private void Missed(string relative)
    {
        Interlocked.Increment(ref _misses);
        lock (_lock) Forget(relative);
    }

    /// <summary>Counts a hit and moves the chunk to the front of the LRU order; true on its first use in this run.</summary>
    private bool Hit(string relative, string full, long size)
    {
        Interlocked.Increment(ref _hits);
        lock (_lock)
        {
            if (_entries.TryGetValue(relative, out var e)) _entries[relative] = (e.Size, ++_clock);
            // Written by another process since we indexed, or evicted by another thread since we read it:
            // count it only if it is still there, so the total matches the disk.
            else if (File.Exists(full)) { _entries[relative] = (size, ++_clock); _total += size; }
            return _touched.Add(relative);
        }
    }

    public void StoreChunk(string relative, ReadOnlySpan<byte> data)
    {
        if (data.Length > Quota) return;
        string full = ChunkFile(relative);
        if (!WriteChunkFile(full, data)) return;
        lock (_lock)
        {
            if (_entries.TryGetValue(relative, out var old)) _total -= old.Size;
            _entries[relative] = (data.Length, ++_clock);
            _total += data.Length;
            if (_total > Quota) EvictLocked();
        }
    }

    /// <summary>Removes a cached chunk found corrupt, so it is fetched again.</summary>
    public void Drop(string relative)
    {
        try { File.Delete(ChunkFile(relative)); } catch (IOException) { }
        lock (_lock) Forget(relative);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _knownDirs = new(StringComparer.Ordinal);

    /// <summary>
    /// A chunk file under a temporary name, then renamed (docs/cache.md), through a bare handle: no FileStream and
    /// no directory creation per chunk once its directory is known. Not fsynced: a chunk file torn by a crash fails
    /// verification on its next read and is fetched again. False when it could not be written (full disk).
    /// </summary>
    private bool WriteChunkFile(string full, ReadOnlySpan<byte> data)
    {
        string dir = Path.GetDirectoryName(full)!;
        string tmp = $"{full}.tmp-{Environment.ProcessId}-{Random.Shared.Next():x8}";
        try
        {
            // Marked known only once created, so a concurrent writer never skips a mkdir still in progress.
            if (!_knownDirs.ContainsKey(dir))
            {
                Directory.CreateDirectory(dir);
                _knownDirs.TryAdd(dir, true);
            }
            using (var h = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                RandomAccess.Write(h, data, 0);
            File.Move(tmp, full, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only cache disk must not fail the read: the data is served uncached, said once.
            WarnUnwritable(e);
            _knownDirs.TryRemove(dir, out _); // it may have been deleted under us (cache cleared): create it again next time
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            return false;
        }
    }

    /// <summary>Writes a metadata copy; false (with the one warning) when the cache cannot be written.</summary>
    public bool WriteAtomic(string full, ReadOnlySpan<byte> data)
    {
        // A full or read-only cache disk must not fail the read: the data is served uncached.
        try
        {
            Posix.AtomicFile.Write(full, data, durable: false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WarnUnwritable(e);
            return false;
        }
    }

    private void WarnUnwritable(Exception e)
    {
        if (Interlocked.Exchange(ref _warnedUnwritable, 1) == 0)
            Log.CacheUnwritable(Root, e is IOException io ? Posix.IoErrors.Reason(io) : e.Message);
    }

    private void Forget(string relative)
    {
        if (_entries.Remove(relative, out var e)) _total -= e.Size;
    }

    /// <summary>How old a temporary file must be before a starting process deletes it as left over.</summary>
    private static readonly TimeSpan StaleTemporary = TimeSpan.FromMinutes(10);

    /// <summary>Evicts least recently used chunks down to 90% of the quota.</summary>
    private void EvictLocked()
    {
        long target = Quota / 10 * 9;
        foreach (var (path, entry) in _entries.OrderBy(kv => kv.Value.LastUse).ToList())
        {
            if (_total <= target) break;
            try { File.Delete(ChunkFile(path)); } catch (IOException) { continue; }
            _entries.Remove(path);
            _total -= entry.Size;
            Interlocked.Increment(ref _evicted);
        }
    }

    /// <summary>Indexes what earlier runs cached; their order of last use comes from the files' modification times.</summary>
    private void Load()
    {
        var found = new List<(string Path, long Size, DateTime Time)>();
        var files = new[] { "chunks", "packs", "ranges" }.Select(d => new DirectoryInfo(Path.Combine(Root, d))).Where(d => d.Exists)
            .SelectMany(d => d.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }));
        foreach (var f in files)
        {
            if (f.Name.Contains(".tmp-", StringComparison.Ordinal))
            {
                // Left by a process that died while writing; a recent one may belong to a process writing it now.
                if (f.LastWriteTimeUtc < DateTime.UtcNow - StaleTemporary) try { f.Delete(); } catch (IOException) { }
                continue;
            }
            // Another process sharing the cache may evict a chunk between the directory listing and its stat.
            try { found.Add((Path.GetRelativePath(Root, f.FullName).Replace('\\', '/'), f.Length, f.LastWriteTimeUtc)); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { }
        }
        lock (_lock)
        {
            foreach (var (p, size, _) in found.OrderBy(x => x.Time))
            {
                _entries[p] = (size, ++_clock);
                _total += size;
            }
            if (_total > Quota) EvictLocked();
        }
    }
}
