using System.Runtime.CompilerServices;
using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Cache;

/// <summary>
/// Puts the disk cache in front of a remote backend. Immutable objects (chunks, manifests) are served from the
/// cache when present; mutable ones (refs, indexes) are always fetched fresh and the cached copy is used only
/// when no mirror can be reached (offline mode, with a warning). Data from the cache is verified by the layer
/// above like any other copy: a bad one comes back with <see cref="ReadHints.Avoid"/> set and is replaced.
/// </summary>
public sealed class CachingBackend : IArchiveBackend
{
    public const string CacheSourcePrefix = "cache:";
    private readonly IArchiveBackend _inner;
    private readonly DiskCache _cache;
    private readonly string _metaDir;
    private readonly TextWriter? _log;
    private int _warnedOffline;

    public CachingBackend(IArchiveBackend inner, DiskCache cache, TextWriter? log)
    {
        _inner = inner;
        _cache = cache;
        _log = log;
        _metaDir = cache.MetadataDir(inner.Location);
    }

    public IArchiveBackend Inner => _inner;
    public DiskCache Cache => _cache;
    public string Location => _inner.Location;
    public bool IsWritable => false;
    public bool WentOffline => Volatile.Read(ref _warnedOffline) != 0;

    public async Task<BackendObject?> TryReadAsync(string path, ReadHints hints, CancellationToken ct)
    {
        using var obj = await ReadAsync(path, hints, pooled: false, ct).ConfigureAwait(false);
        return obj?.ToBackendObject(); // not rented: the array read or fetched itself
    }

    public Task<PooledObject?> TryReadPooledAsync(string path, ReadHints hints, CancellationToken ct) =>
        ReadAsync(path, hints, pooled: true, ct);

    private async Task<PooledObject?> ReadAsync(string path, ReadHints hints, bool pooled, CancellationToken ct)
    {
        // Packs are chunk files too: shared by every archive and counted against the quota like chunks.
        bool chunk = path.StartsWith("chunks/", StringComparison.Ordinal) || path.StartsWith("packs/", StringComparison.Ordinal);
        string local = chunk ? _cache.ChunkFile(path) : Path.Combine(_metaDir, path);
        bool cachedIsSuspect = hints.Avoid is not null && hints.Avoid.StartsWith(CacheSourcePrefix, StringComparison.Ordinal);
        if (cachedIsSuspect && chunk) _cache.Drop(path);

        // A caller that asks to bypass caches found bad data (from a mirror or from here). The copy fetched with it
        // is stored below before anyone verifies it, so answering from the cache now would hand back that same bad
        // copy instead of asking another mirror.
        if (ArchiveLayout.IsImmutable(path) && !cachedIsSuspect && !hints.BypassCaches)
        {
            if (chunk && pooled)
            {
                if (_cache.TryReadChunkPooled(path, CacheSourcePrefix + local) is { } pooledHit) return pooledHit;
            }
            else if ((chunk ? _cache.TryReadChunk(path) : TryReadFile(local)) is { } hit)
            {
                return PooledObject.Wrap(new BackendObject(hit, CacheSourcePrefix + local));
            }
        }

        PooledObject? obj;
        try
        {
            obj = pooled
                ? await _inner.TryReadPooledAsync(path, hints, ct).ConfigureAwait(false)
                : await _inner.TryReadAsync(path, hints, ct).ConfigureAwait(false) is { } plain ? PooledObject.Wrap(plain) : null;
        }
        catch (BackendUnavailableException) when (!ArchiveLayout.IsImmutable(path) && TryReadFile(local) is { } stale)
        {
            if (Interlocked.Exchange(ref _warnedOffline, 1) == 0)
                _log?.WriteLine($"circular: warning: {_inner.Location} is unreachable; working offline from the cache ({File.GetLastWriteTimeUtc(local):u})");
            return PooledObject.Wrap(new BackendObject(stale, CacheSourcePrefix + local));
        }
        if (obj is null) return null;
        try
        {
            if (chunk) _cache.StoreChunk(path, obj.Data.Span);
            else DiskCache.WriteAtomic(local, obj.Data.Span);
        }
        catch
        {
            obj.Dispose();
            throw;
        }
        return obj;
    }

    private static byte[]? TryReadFile(string full)
    {
        try { return File.ReadAllBytes(full); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
    }

    public Task WriteAsync(string path, ReadOnlyMemory<byte> data, CancellationToken ct) => _inner.WriteAsync(path, data, ct);

    public async Task<bool> ExistsAsync(string path, CancellationToken ct) =>
        await TryReadAsync(path, ReadHints.None, ct).ConfigureAwait(false) is not null;

    public IAsyncEnumerable<BackendEntry> ListAsync(string directory, CancellationToken ct) => _inner.ListAsync(directory, ct);

    public Task DeleteAsync(string path, CancellationToken ct) => _inner.DeleteAsync(path, ct);
}
