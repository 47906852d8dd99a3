using Circular.Core.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Storage.Cache;

/// <summary>
/// Puts the disk cache in front of a remote backend. Immutable objects (chunks, manifests) are served from the
/// cache when present; mutable ones (refs, indexes) are always fetched fresh and the cached copy is used only
/// when no mirror can be reached (offline mode, with a warning; for <see cref="OfflineRetryAfter"/> after that, or until
/// the archive answers any read, mutable objects with a copy are answered from it without asking again). That a mutable object does not exist (keys.json of
/// an unsigned archive) is remembered too, so offline reads answer "absent" as the archive did, instead of failing.
/// Data from the cache is verified by the layer above like any other copy: a bad one comes back with
/// <see cref="ReadHints.Avoid"/> naming it and is replaced.
/// </summary>
public sealed class CachingBackend : IArchiveBackend
{
    public const string CacheSourcePrefix = "cache:";
    /// <summary>Beside the metadata copies: one empty file per mutable object the archive said it does not have.</summary>
    private const string AbsentDir = ".absent";
    private readonly IArchiveBackend _inner;
    private readonly DiskCache _cache;
    private readonly string _metaDir;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private int _warnedOffline;
    // Until when (TimeProvider timestamp) mutable objects are answered from their offline copies without asking the
    // archive: each attempt costs a timeout, and a booting client reads several in a row.
    private long _offlineUntil;

    /// <summary>How long after the archive proved unreachable metadata comes from the cache before it is asked again.</summary>
    public static readonly TimeSpan OfflineRetryAfter = TimeSpan.FromSeconds(30);

    /// <param name="metadataLocation">The location whose metadata copies this is (default: the inner backend's): a seed
    /// disk's cache is filled from one address of an archive and read from another.</param>
    public CachingBackend(IArchiveBackend inner, DiskCache cache, ILogger? log = null, string? metadataLocation = null, TimeProvider? time = null)
    {
        _inner = inner;
        _cache = cache;
        _log = log ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _metaDir = cache.MetadataDir(metadataLocation ?? inner.Location);
    }

    public IArchiveBackend Inner => _inner;
    public DiskCache Cache => _cache;
    public string Location => _inner.Location;
    public bool IsWritable => false;
    public bool WentOffline => Volatile.Read(ref _warnedOffline) != 0;

    public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        using var obj = await ReadAsync(handle, hints, pooled: false, ct).ConfigureAwait(false);
        return obj?.ToBackendObject(); // not rented: the array read or fetched itself
    }

    public Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        ReadAsync(handle, hints, pooled: true, ct);

    private async Task<PooledObject?> ReadAsync(ObjectHandle handle, ReadHints hints, bool pooled, CancellationToken ct)
    {
        string path = handle.Path;
        // Packs are chunk files too: shared by every archive and counted against the quota like chunks.
        bool chunk = handle.IsChunkFile;
        string local = chunk ? _cache.ChunkFile(path) : Path.Combine(_metaDir, path);
        bool cachedIsSuspect = hints.AvoidsPrefix(CacheSourcePrefix);
        if (cachedIsSuspect && chunk) _cache.Drop(path);

        // A caller that asks to bypass caches found bad data (from a mirror or from here). The copy fetched with it
        // is stored below before anyone verifies it, so answering from the cache now would hand back that same bad
        // copy instead of asking another mirror.
        if (handle.IsImmutable && !cachedIsSuspect && !hints.BypassCaches)
        {
            if (chunk && pooled)
            {
                if (_cache.TryReadChunkPooled(path, CacheSourcePrefix + local) is { } pooledHit) return pooledHit;
            }
            else if ((chunk ? _cache.TryReadChunk(path) : TryReadFile(local, handle.MaxLength)) is { } hit)
            {
                return PooledObject.Wrap(new BackendObject(hit, CacheSourcePrefix + local));
            }
        }

        // Offline a moment ago: the copy now, rather than another timeout per object (a seed disk on a network that
        // cannot reach its archive spent 28 s so after the first timeout).
        // Not when the copy is what the caller found bad, or it asked past every cache: that copy is to be replaced.
        if (!handle.IsImmutable && !cachedIsSuspect && !hints.BypassCaches && _time.GetTimestamp() < Volatile.Read(ref _offlineUntil)
            && OfflineCopy(handle, local) is { } recent)
            return recent.Object;

        PooledObject? obj;
        try
        {
            obj = pooled
                ? await _inner.TryReadPooledAsync(handle, hints, ct).ConfigureAwait(false)
                : await _inner.TryReadAsync(handle, hints, ct).ConfigureAwait(false) is { } plain ? PooledObject.Wrap(plain) : null;
        }
        catch (BackendUnavailableException) when (!handle.IsImmutable && OfflineCopy(handle, local) is { } offline)
        {
            Volatile.Write(ref _offlineUntil, _time.GetTimestamp() + (long)(OfflineRetryAfter.TotalSeconds * _time.TimestampFrequency));
            if (Interlocked.Exchange(ref _warnedOffline, 1) == 0)
                _log.WorkingOffline(_inner.Location, offline.Stamp.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            return offline.Object;
        }
        // The archive answered: online again, whatever the window said (written only when set: this is every read's path).
        if (Volatile.Read(ref _offlineUntil) != 0) Volatile.Write(ref _offlineUntil, 0);
        if (obj is null)
        {
            if (!handle.IsImmutable) RememberAbsent(path, local);
            return null;
        }
        try
        {
            if (chunk) _cache.StoreChunk(path, obj.Data.Span);
            else
            {
                _cache.WriteAtomic(local, obj.Data.Span);
                if (!handle.IsImmutable) TryDelete(AbsentMarker(path));
            }
        }
        catch
        {
            obj.Dispose();
            throw;
        }
        return obj;
    }

    /// <summary>What the cache last saw of a mutable object: its copy, or that it did not exist (a null object).</summary>
    private (PooledObject? Object, DateTime Stamp)? OfflineCopy(ObjectHandle handle, string local)
    {
        if (TryReadFile(local, handle.MaxLength) is { } stale)
            return (PooledObject.Wrap(new BackendObject(stale, CacheSourcePrefix + local)), File.GetLastWriteTimeUtc(local));
        string marker = AbsentMarker(handle.Path);
        return File.Exists(marker) ? (null, File.GetLastWriteTimeUtc(marker)) : null;
    }

    private string AbsentMarker(string path) => Path.Combine(_metaDir, AbsentDir, path);

    private void RememberAbsent(string path, string local)
    {
        TryDelete(local);
        _cache.WriteAtomic(AbsentMarker(path), []);
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// A cached metadata copy, or null; a file longer than any valid object of its kind is no copy, and neither is
    /// one the cache disk cannot read (the archive is asked instead).
    /// </summary>
    private byte[]? TryReadFile(string full, long maxLength)
    {
        try
        {
            var info = new FileInfo(full);
            if (!info.Exists || info.Length > maxLength) return null;
            return File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _cache.WarnUnreadable(e);
            return null;
        }
    }

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => _inner.WriteAsync(handle, data, ct);

    /// <summary>A chunk or pack in the cache's index, or an immutable metadata copy on disk (one stat).</summary>
    public bool HoldsLocally(ObjectHandle handle) =>
        (handle.IsChunkFile ? _cache.Contains(handle.Path) : handle.IsImmutable && File.Exists(Path.Combine(_metaDir, handle.Path)))
        || _inner.HoldsLocally(handle);

    public void KeepLocally(ObjectHandle handle, ReadOnlySpan<byte> data)
    {
        if (!handle.IsImmutable || handle.IsChunkFile) return;
        _cache.WriteAtomic(Path.Combine(_metaDir, handle.Path), data); // a cache that cannot write says so once
    }

    public async Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) =>
        await TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false) is not null;

    public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => _inner.ListAsync(kind, image, ct);

    public Task DeleteAsync(string path, CancellationToken ct) => _inner.DeleteAsync(path, ct);
}
