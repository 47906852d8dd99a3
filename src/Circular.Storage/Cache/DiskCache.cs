using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Circular.Storage.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Storage.Cache;

/// <summary>
/// The client's persistent cache directory (docs/cache.md): chunk files shared by every archive, image and run
/// (they are content-addressed and verified on every use), plus per-archive copies of metadata for offline use.
/// Chunks are appended to segment files, one being written per process at a time, and bounded by a quota: whole
/// segments are evicted, least recently used first. Chunk files of the older one-file-per-chunk layout are still
/// read and evicted, never written.
/// </summary>
public sealed class DiskCache
{
    public const long DefaultQuota = 4L << 30;
    public const string SegmentsDir = "segments";
    private static readonly string[] LegacyDirs = ["chunks", "packs", "ranges"];
    private const long MaxSegmentLength = 64L << 20;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CacheSegment> _segments = new(StringComparer.Ordinal);
    private readonly HashSet<LegacyChunkFile> _legacyFiles = [];
    private readonly string _segmentsDir;
    private readonly long _segmentLimit;
    private readonly bool _legacyLayout;
    private CacheSegment? _active;
    private long _noNewSegmentUntil;
    private long _nextRefresh;
    private long _total;
    private long _clock;
    private long _hits, _misses, _evicted;

    /// <summary>Where one cached chunk's bytes are.</summary>
    private readonly record struct Entry(CacheUnit Unit, long Offset, int Length);

    public DiskCache(string root, long quota)
    {
        Root = Path.GetFullPath(root);
        Quota = quota;
        _segmentsDir = Path.Combine(Root, SegmentsDir);
        // Small quotas get small segments, so that eviction by segment can still keep the cache near its quota.
        _segmentLimit = Math.Clamp(quota / 16, 1, MaxSegmentLength);
        Directory.CreateDirectory(_segmentsDir);
        _legacyLayout = LegacyDirs.Any(d => Directory.Exists(Path.Combine(Root, d)));
        Load();
    }

    public string Root { get; }
    public long Quota { get; }
    /// <summary>Where the one warning about a cache that cannot be written (a full disk) goes.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;
    /// <summary>How often, at most, what other processes appended or removed is looked for (on a miss or a store).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMilliseconds(250);
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

    /// <summary>Names a cached chunk in messages: "chunks/ab/abcd…" under the cache directory.</summary>
    public string ChunkFile(string relative) => Path.Combine(Root, relative);

    /// <summary>The file holding a cached chunk and where in it (diagnostics and tests), or null when it is not cached.</summary>
    public (string File, long Offset, int Length)? Locate(string relative)
    {
        lock (_lock)
            return _entries.TryGetValue(relative, out var e) ? (e.Unit.FilePath, e.Offset, e.Length) : null;
    }

    /// <summary>Whether a chunk is in the cache as far as this process knows (no I/O: the index only).</summary>
    public bool Contains(string relative)
    {
        lock (_lock) return _entries.ContainsKey(relative);
    }

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
        // A cold read misses on every chunk: it is answered from the index, looking for what other processes added
        // only every RefreshInterval, so that a miss costs no system call.
        if (Find(relative) is not { } entry)
        {
            Missed(relative);
            return null;
        }
        return entry.Unit is CacheSegment segment ? ReadRecord(relative, segment, entry, source) : ReadLegacy(relative, entry.Unit, source);
    }

    private Entry? Find(string relative)
    {
        lock (_lock)
            if (_entries.TryGetValue(relative, out var e)) return e;
        if (RefreshIfDue())
            lock (_lock)
                if (_entries.TryGetValue(relative, out var e)) return e;
        // Another process of an older version may add chunk files of the older layout.
        if (_legacyLayout && File.Exists(ChunkFile(relative)))
            lock (_lock)
            {
                if (_entries.TryGetValue(relative, out var e)) return e;
                var file = new LegacyChunkFile(ChunkFile(relative), relative);
                try { file.Size = new FileInfo(file.FilePath).Length; }
                catch (IOException) { return null; }
                AddLegacyLocked(relative, file);
                return _entries[relative];
            }
        return null;
    }

    private Backends.PooledObject? ReadRecord(string relative, CacheSegment segment, Entry entry, string source)
    {
        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(entry.Length, 1));
        try
        {
            int n = Posix.PositionalRead.Fully(segment.Handle, buf.AsSpan(0, entry.Length), entry.Offset);
            // A short read (the file shrank under us) is caught by verification like any other bad copy.
            Hit(relative, segment);
            return Backends.PooledObject.FromRented(buf, n, source);
        }
        catch (Exception e) when (e is ObjectDisposedException or FileNotFoundException or DirectoryNotFoundException)
        {
            // Evicted by another thread (handle closed) or removed by another process while we looked it up.
            ArrayPool<byte>.Shared.Return(buf);
            Missed(relative);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ArrayPool<byte>.Shared.Return(buf);
            Unreadable(relative, e);
            return null;
        }
    }

    private Backends.PooledObject? ReadLegacy(string relative, CacheUnit unit, string source)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try { handle = File.OpenHandle(unit.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
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
            byte[] buf = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
            try
            {
                int n = Posix.PositionalRead.Fully(handle, buf.AsSpan(0, (int)length), 0);
                Hit(relative, unit);
                return Backends.PooledObject.FromRented(buf, n, source);
            }
            catch (Exception e)
            {
                ArrayPool<byte>.Shared.Return(buf);
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

    private void Missed(string relative)
    {
        Interlocked.Increment(ref _misses);
        lock (_lock)
            if (_entries.Remove(relative, out var e) && e.Unit is LegacyChunkFile legacy) RemoveLegacyLocked(legacy);
    }

    /// <summary>Counts a hit and moves the chunk's unit to the front of the LRU order; its file's time records the use across runs.</summary>
    private void Hit(string relative, CacheUnit unit)
    {
        Interlocked.Increment(ref _hits);
        bool touch;
        lock (_lock)
        {
            unit.LastUse = ++_clock;
            touch = !unit.Touched && unit != _active;
            unit.Touched = true;
        }
        if (touch)
            try { File.SetLastWriteTimeUtc(unit.FilePath, DateTime.UtcNow); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
    }

    public void StoreChunk(string relative, ReadOnlySpan<byte> data)
    {
        byte[] key = Encoding.UTF8.GetBytes(relative);
        if (key.Length > SegmentFormat.MaxKeyLength) return;
        int headerLength = SegmentFormat.RecordHeaderLength + key.Length;
        long recordLength = headerLength + data.Length;
        if (recordLength + SegmentFormat.FileHeaderLength > Quota) return;
        RefreshIfDue();

        CacheSegment? segment;
        long at;
        lock (_lock)
        {
            segment = ActiveLocked();
            if (segment is null) return;
            at = segment.End;
            segment.End += recordLength;
            segment.Size = segment.End;
            segment.Pending++;
            _total += recordLength;
            if (segment.End >= _segmentLimit) _active = null; // sealed: the next store starts another
        }

        bool written = false;
        try
        {
            byte[] header = ArrayPool<byte>.Shared.Rent(headerLength);
            try
            {
                SegmentFormat.WriteRecordHeader(header, key, data.Length);
                // Data first, header last: another process that reads a whole header finds the data behind it.
                // Not fsynced: a record torn by a crash fails its check or its verification and is fetched again.
                RandomAccess.Write(segment.Handle, data, at + headerLength);
                RandomAccess.Write(segment.Handle, header.AsSpan(0, headerLength), at);
                written = true;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(header);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only cache disk must not fail the read: the data is served uncached, said once.
            WarnUnwritable(e);
        }
        finally
        {
            lock (_lock)
            {
                segment.Pending--;
                if (segment.Gone && segment.Pending == 0) segment.Close();
                if (written && !segment.Gone)
                {
                    _entries[relative] = new Entry(segment, at + headerLength, data.Length);
                    segment.Keys.Add(relative);
                    segment.LastUse = ++_clock;
                }
                else if (!written && _active == segment)
                {
                    // Records after a failed one are unreadable to other processes (a scan stops at it): seal the
                    // segment, and wait a second before the next one, so a full disk does not get a file per chunk.
                    _active = null;
                    _noNewSegmentUntil = Environment.TickCount64 + 1000;
                }
                if (_total > Quota) EvictLocked();
            }
        }
    }

    /// <summary>The segment this process appends to, created when there is none (null when none can be).</summary>
    private CacheSegment? ActiveLocked()
    {
        if (_active is { Gone: false } a) return a;
        if (Environment.TickCount64 < _noNewSegmentUntil) return null;
        try
        {
            var s = CacheSegment.Create(_segmentsDir);
            s.LastUse = ++_clock;
            s.Touched = true;
            _segments[s.Name] = s;
            _total += s.Size;
            return _active = s;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WarnUnwritable(e);
            _noNewSegmentUntil = Environment.TickCount64 + 1000;
            return null;
        }
    }

    /// <summary>
    /// Removes a cached chunk found corrupt, so it is fetched again: a chunk file is deleted; a segment record is
    /// marked dead (later scans skip it) and its data punched out.
    /// </summary>
    public void Drop(string relative)
    {
        Entry e;
        lock (_lock)
        {
            if (!_entries.Remove(relative, out e)) return;
            if (e.Unit is LegacyChunkFile legacy) RemoveLegacyLocked(legacy);
        }
        if (e.Unit is LegacyChunkFile)
        {
            try { File.Delete(e.Unit.FilePath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            return;
        }
        var segment = (CacheSegment)e.Unit;
        byte[] key = Encoding.UTF8.GetBytes(relative);
        long header = e.Offset - SegmentFormat.RecordHeaderLength - key.Length;
        try
        {
            using var h = File.OpenHandle(segment.FilePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            byte[] dead = new byte[SegmentFormat.RecordHeaderLength + key.Length];
            SegmentFormat.WriteRecordHeader(dead, key, e.Length, SegmentFormat.Dead);
            RandomAccess.Write(h, dead, header);
            Posix.Libc.fallocate((int)h.DangerousGetHandle(), Posix.Libc.FALLOC_FL_PUNCH_HOLE | Posix.Libc.FALLOC_FL_KEEP_SIZE, e.Offset, e.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { } // gone or read-only: verification still catches it
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

    /// <summary>How old a temporary file must be before a starting process deletes it as left over.</summary>
    private static readonly TimeSpan StaleTemporary = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Evicts least recently used segments and chunk files down to 90% of the quota. The segment another running
    /// process is appending to is left to it, and so is one of ours with writes in flight.
    /// </summary>
    private void EvictLocked()
    {
        long target = Quota / 10 * 9;
        var newestOfOthers = _segments.Values.Where(s => !s.Own && s.WriterPid != 0)
            .GroupBy(s => s.WriterPid).Select(g => g.MaxBy(s => s.Name, StringComparer.Ordinal)!).ToHashSet();
        var units = _segments.Values.Cast<CacheUnit>().Concat(_legacyFiles).OrderBy(u => u.LastUse).ToList();
        foreach (var unit in units)
        {
            if (_total <= target) break;
            if (unit is CacheSegment s)
            {
                if (s.Pending > 0 || (newestOfOthers.Contains(s) && ProcessAlive(s.WriterPid))) continue;
                try { File.Delete(s.FilePath); } catch (IOException) { continue; }
                if (_active == s) _active = null;
                RemoveSegmentLocked(s, evicted: true);
            }
            else
            {
                var legacy = (LegacyChunkFile)unit;
                try { File.Delete(legacy.FilePath); } catch (IOException) { continue; }
                if (_entries.TryGetValue(legacy.Key, out var e) && e.Unit == legacy)
                {
                    _entries.Remove(legacy.Key);
                    Interlocked.Increment(ref _evicted);
                }
                RemoveLegacyLocked(legacy);
            }
        }
    }

    private static bool ProcessAlive(int pid) => pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}");

    private void RemoveSegmentLocked(CacheSegment s, bool evicted)
    {
        if (s.Gone) return;
        s.Gone = true;
        foreach (string key in s.Keys)
            if (_entries.TryGetValue(key, out var e) && e.Unit == s)
            {
                _entries.Remove(key);
                if (evicted) Interlocked.Increment(ref _evicted);
            }
        _segments.Remove(s.Name);
        _total -= s.Size;
        // Readers that already took the handle finish their read: the descriptor closes after the last of them.
        if (s.Pending == 0) s.Close();
    }

    private void AddLegacyLocked(string relative, LegacyChunkFile file)
    {
        // A chunk also in a segment keeps its segment copy; the file still counts until evicted.
        if (!_entries.ContainsKey(relative)) _entries[relative] = new Entry(file, 0, (int)Math.Min(file.Size, int.MaxValue));
        _legacyFiles.Add(file);
        file.LastUse = ++_clock;
        _total += file.Size;
    }

    private void RemoveLegacyLocked(LegacyChunkFile file)
    {
        if (_legacyFiles.Remove(file)) _total -= file.Size;
    }

    /// <summary>
    /// Indexes what other processes appended or removed since the last look, at most every RefreshInterval; true
    /// when it looked. Also notices this process's own segment deleted under it (the cache cleared by hand).
    /// </summary>
    private bool RefreshIfDue()
    {
        long now = Environment.TickCount64;
        long due = Interlocked.Read(ref _nextRefresh);
        if (now < due || Interlocked.CompareExchange(ref _nextRefresh, now + (long)RefreshInterval.TotalMilliseconds, due) != due) return false;
        if (Interlocked.Exchange(ref _refreshing, 1) != 0) return false;
        try { Refresh(); }
        finally { Volatile.Write(ref _refreshing, 0); }
        return true;
    }

    private int _refreshing;

    private void Refresh()
    {
        HashSet<string> names;
        try { names = Directory.EnumerateFiles(_segmentsDir, "*" + CacheSegment.Extension).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal)!; }
        catch (DirectoryNotFoundException) { names = []; }
        catch (IOException) { return; }
        List<CacheSegment> toScan;
        lock (_lock)
        {
            foreach (var gone in _segments.Values.Where(s => !names.Contains(s.Name)).ToList())
            {
                if (_active == gone) _active = null;
                RemoveSegmentLocked(gone, evicted: false);
            }
            toScan = [.. _segments.Values.Where(s => !s.Own)];
            toScan.AddRange(names.Where(n => !_segments.ContainsKey(n)).Select(n => CacheSegment.Open(Path.Combine(_segmentsDir, n))));
        }
        foreach (var s in toScan) Scan(s, startup: false);
    }

    /// <summary>Reads a segment's new records into the index (outside the lock: it reads the file).</summary>
    private void Scan(CacheSegment segment, bool startup, DateTime? lastWrite = null)
    {
        var records = new List<SegmentRecord>();
        long before = segment.Size;
        bool readable;
        try { readable = segment.ScanNew(records, Core.Archive.ObjectHandle.MaxChunkFileLength); }
        // Deleted by another process, or evicted by another thread of this one while it was read.
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ObjectDisposedException) { segment.Close(); return; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            segment.Close();
            WarnUnreadable(e);
            return;
        }
        if (!readable)
        {
            // Not (yet) a segment: one being created shows its header in a moment; a header-less one left by a crash
            // long ago is removed.
            segment.Close();
            if (startup && lastWrite < DateTime.UtcNow - StaleTemporary && segment.Size == 0)
                try { if (new FileInfo(segment.FilePath).Length < SegmentFormat.FileHeaderLength) File.Delete(segment.FilePath); }
                catch (IOException) { }
            return;
        }
        lock (_lock)
        {
            if (segment.Gone)
            {
                segment.Close();
                return;
            }
            bool known = _segments.TryAdd(segment.Name, segment) == false;
            _total += segment.Size - (known ? before : 0);
            if (!known) segment.LastUse = ++_clock;
            foreach (var r in records)
            {
                if (r.Dead) continue;
                // At start a later record of a key replaces an earlier one (a copy stored again after the first was
                // found damaged); while running, what this process already knows is kept.
                if (!startup && _entries.ContainsKey(r.Key)) continue;
                _entries[r.Key] = new Entry(segment, r.Offset, r.Length);
                segment.Keys.Add(r.Key);
            }
            if (_total > Quota && !startup) EvictLocked();
        }
    }

    /// <summary>
    /// Indexes what earlier runs cached: every segment (in the order they were written, so a later copy of a chunk
    /// wins) and the chunk files of the older layout; the order of last use comes from the files' modification times.
    /// </summary>
    private void Load()
    {
        var segments = new List<(CacheSegment Segment, DateTime Time)>();
        foreach (var f in new DirectoryInfo(_segmentsDir).EnumerateFiles("*" + CacheSegment.Extension).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            DateTime time;
            try { time = f.LastWriteTimeUtc; }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { continue; }
            var s = CacheSegment.Open(f.FullName);
            Scan(s, startup: true, time);
            if (_segments.ContainsKey(s.Name)) segments.Add((s, time));
        }
        var legacy = new List<(string Relative, LegacyChunkFile File, DateTime Time)>();
        if (_legacyLayout)
            foreach (var f in LegacyDirs.Select(d => new DirectoryInfo(Path.Combine(Root, d))).Where(d => d.Exists)
                .SelectMany(d => d.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })))
            {
                if (f.Name.Contains(".tmp-", StringComparison.Ordinal))
                {
                    // Left by a process that died while writing; a recent one may belong to a process writing it now.
                    if (f.LastWriteTimeUtc < DateTime.UtcNow - StaleTemporary) try { f.Delete(); } catch (IOException) { }
                    continue;
                }
                // Another process sharing the cache may evict a chunk between the directory listing and its stat.
                string relative = Path.GetRelativePath(Root, f.FullName).Replace('\\', '/');
                try { legacy.Add((relative, new LegacyChunkFile(f.FullName, relative) { Size = f.Length }, f.LastWriteTimeUtc)); }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { }
            }
        lock (_lock)
        {
            foreach (var (relative, file, _) in legacy.OrderBy(x => x.Time)) AddLegacyLocked(relative, file);
            // Segments and chunk files in one LRU order, oldest use first.
            var order = segments.Select(x => ((CacheUnit)x.Segment, x.Time)).Concat(legacy.Select(x => ((CacheUnit)x.File, x.Time))).OrderBy(x => x.Time);
            foreach (var (unit, _) in order) unit.LastUse = ++_clock;
            if (_total > Quota) EvictLocked();
        }
    }
}
