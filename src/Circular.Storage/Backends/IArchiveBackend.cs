using Circular.Core.Archive;

namespace Circular.Storage.Backends;

/// <summary>
/// Where an archive's files live: a local directory, one or more HTTP mirrors. Backends know typed objects and
/// bytes, nothing of images or versions (restic's rule); the object's kind, not its path, tells what may be cached
/// and how large it may be.
/// </summary>
/// <remarks>
/// Contract: <see cref="TryReadAsync"/> returns null only when the object certainly does not exist; a transient failure
/// (network, timeout) throws <see cref="BackendUnavailableException"/> after the backend's own retries. A body longer
/// than <see cref="ObjectHandle.MaxLength"/> is refused while it arrives, never buffered whole. Writes are atomic:
/// a reader sees the old object or the new one, never a partial one.
/// </remarks>
public interface IArchiveBackend
{
    /// <summary>Human-readable location, for messages.</summary>
    string Location { get; }

    bool IsWritable { get; }

    /// <summary>Reads a whole object. <paramref name="hints"/> lets a caller that found bad data ask for another copy.</summary>
    Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct);

    /// <summary>
    /// Like <see cref="TryReadAsync"/>, but the bytes may live in a buffer rented from a pool: the caller disposes the
    /// result as soon as it is done with <see cref="PooledObject.Data"/>. For bulk reads (chunks), where a new array
    /// per object is mostly garbage collection. Backends without a pooled path keep this default.
    /// </summary>
    async Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        await TryReadAsync(handle, hints, ct).ConfigureAwait(false) is { } obj ? PooledObject.Wrap(obj) : null;

    /// <summary>Creates or atomically replaces an object.</summary>
    Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct);

    Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct);

    /// <summary>
    /// True when the object can be read without the network (a local archive, or a copy in the disk cache), answered
    /// cheaply (an index lookup, at most a stat). A hint for planning reads (which packs are worth fetching); false when unsure.
    /// </summary>
    bool HoldsLocally(ObjectHandle handle) => false;

    /// <summary>
    /// Offers an immutable object the caller obtained and verified another way (a manifest rebuilt from its patch):
    /// a cache keeps it as if it had been fetched, so the next read is local. Others ignore it.
    /// </summary>
    void KeepLocally(ObjectHandle handle, ReadOnlySpan<byte> data) { }

    /// <summary>
    /// Every file stored for objects of <paramref name="kind"/> (chunks, packs; or, with <paramref name="image"/>, that
    /// image's manifests, profiles or pack indexes), writers' leftover temporaries included. Local backends only;
    /// HTTP throws NotSupportedException.
    /// </summary>
    IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct);

    /// <summary>Deletes a file <see cref="ListAsync"/> returned, or an object.</summary>
    Task DeleteAsync(string path, CancellationToken ct);
}

/// <summary>
/// A capability of backends whose objects are files on this machine: readers may open them directly (positional reads
/// into their own buffers) instead of asking for whole objects. A backend that wraps one forwards it, or the fast path
/// is simply not taken.
/// </summary>
public interface ILocalObjects
{
    /// <summary>The local file holding an object (it may not exist).</summary>
    string FullPath(ObjectHandle handle);
}

/// <summary>An object's bytes and the mirror or file they came from.</summary>
public sealed record BackendObject(byte[] Data, string Source);

/// <summary>
/// An object's bytes in a buffer that may be rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>; disposing
/// returns it, after which <see cref="Data"/> must not be used (it throws). Not thread-safe: one owner at a time.
/// </summary>
public sealed class PooledObject : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;
    private readonly bool _rented;

    private PooledObject(byte[] buffer, int length, string source, bool rented)
    {
        _buffer = buffer;
        _length = length;
        _rented = rented;
        Source = source;
    }

    public string Source { get; }
    public int Length => _length;
    public ReadOnlyMemory<byte> Data => (_buffer ?? throw new ObjectDisposedException(nameof(PooledObject))).AsMemory(0, _length);

    /// <summary>Takes ownership of <paramref name="buffer"/>, which came from ArrayPool&lt;byte&gt;.Shared.</summary>
    public static PooledObject FromRented(byte[] buffer, int length, string source)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length);
        return new PooledObject(buffer, length, source, rented: true);
    }

    /// <summary>An ordinary array, not returned anywhere.</summary>
    public static PooledObject Wrap(BackendObject obj) => new(obj.Data, obj.Data.Length, obj.Source, rented: false);

    /// <summary>An exact-size array (the wrapped one itself when there is one, else a copy), for callers of the array API.</summary>
    public BackendObject ToBackendObject()
    {
        var buf = _buffer ?? throw new ObjectDisposedException(nameof(PooledObject));
        return new BackendObject(!_rented && buf.Length == _length ? buf : buf.AsSpan(0, _length).ToArray(), Source);
    }

    public void Dispose()
    {
        var buf = Interlocked.Exchange(ref _buffer, null);
        if (buf is not null && _rented) System.Buffers.ArrayPool<byte>.Shared.Return(buf);
    }
}

/// <summary>A listed file: its archive-relative path, its file name (a chunk id, a version number, a digest, or a
/// writer's ".tmp-" leftover) and its size.</summary>
public sealed record BackendEntry(string Path, long Length, DateTime LastWriteUtc)
{
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];
}

/// <summary>
/// Asks for a fresh copy after bad data: <see cref="Avoid"/> names the sources that gave bad copies so far (try the
/// others first), <see cref="BypassCaches"/> asks proxies and CDNs to refetch from the origin (Cache-Control: no-cache).
/// </summary>
public readonly record struct ReadHints(bool BypassCaches = false, IReadOnlyList<string>? Avoid = null)
{
    public static ReadHints None => default;

    /// <summary>The hints for the next attempt after <paramref name="badSource"/> gave a bad copy.</summary>
    public ReadHints After(string badSource) => new(true, [.. Avoid ?? [], badSource]);

    /// <summary>True when some avoided source starts with <paramref name="prefix"/>.</summary>
    public bool AvoidsPrefix(string prefix) => Avoid?.Any(a => a.StartsWith(prefix, StringComparison.Ordinal)) == true;
}

/// <summary>No mirror could be reached (offline, refused, timed out): distinct from "not found" and "corrupt".</summary>
public sealed class BackendUnavailableException : Core.Errors.CircularException
{
    public override Core.Errors.ErrorKind Kind => Core.Errors.ErrorKind.Unavailable;

    public BackendUnavailableException(string message) : base(message) { }
    public BackendUnavailableException(string message, Exception inner) : base(message, inner) { }
}
