using System.Security.Cryptography;
using System.Text;

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
        string full = ChunkFile(relative);
        byte[] data;
        try { data = File.ReadAllBytes(full); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Interlocked.Increment(ref _misses);
            lock (_lock) Forget(relative);
            return null;
        }
        Interlocked.Increment(ref _hits);
        bool firstUse;
        lock (_lock)
        {
            if (_entries.TryGetValue(relative, out var e)) _entries[relative] = (e.Size, ++_clock);
            // Written by another process since we indexed, or evicted by another thread since we read it:
            // count it only if it is still there, so the total matches the disk.
            else if (File.Exists(full)) { _entries[relative] = (data.Length, ++_clock); _total += data.Length; }
            firstUse = _touched.Add(relative);
        }
        // The file's mtime carries the LRU order to the next run; once per run is enough.
        if (firstUse) try { File.SetLastWriteTimeUtc(full, DateTime.UtcNow); } catch (IOException) { }
        return data;
    }

    public void StoreChunk(string relative, ReadOnlySpan<byte> data)
    {
        if (data.Length > Quota) return;
        string full = ChunkFile(relative);
        WriteAtomic(full, data);
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

    public static void WriteAtomic(string full, ReadOnlySpan<byte> data)
    {
        // A full or read-only cache disk must not fail the read: the data is served uncached.
        try { Posix.AtomicFile.Write(full, data, durable: false); }
        catch (IOException) { }
    }

    private void Forget(string relative)
    {
        if (_entries.Remove(relative, out var e)) _total -= e.Size;
    }

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
            if (f.Name.Contains(".tmp-", StringComparison.Ordinal)) { try { f.Delete(); } catch (IOException) { } continue; }
            found.Add((Path.GetRelativePath(Root, f.FullName).Replace('\\', '/'), f.Length, f.LastWriteTimeUtc));
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
