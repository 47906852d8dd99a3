using System.Collections.Concurrent;
using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Replication;

/// <summary>
/// Passes reads through and keeps the bytes of every metadata object read (refs, manifests, signatures, profiles,
/// pack indexes), so a mirror copies exactly the bytes the verifying reader accepted, with no second request and no
/// window for the source to change in between. Chunks and packs are not kept (they are copied as they are verified).
/// </summary>
public sealed class RecordingBackend(IArchiveBackend inner) : IArchiveBackend
{
    private readonly ConcurrentDictionary<string, byte[]> _seen = new(StringComparer.Ordinal);
    private long _requests;

    public string Location => inner.Location;
    public bool IsWritable => false;
    /// <summary>Reads asked of the source (each one request for an HTTP or S3 source, retries aside).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The bytes last read for <paramref name="handle"/> (null if it was not read, or did not exist).</summary>
    public byte[]? Recorded(ObjectHandle handle) => _seen.TryGetValue(handle.Path, out var b) ? b : null;

    public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        Interlocked.Increment(ref _requests);
        var obj = await inner.TryReadAsync(handle, hints, ct).ConfigureAwait(false);
        if (handle.Kind is not (ObjectKind.Chunk or ObjectKind.Pack))
        {
            if (obj is null) _seen.TryRemove(handle.Path, out _);
            else _seen[handle.Path] = obj.Data;
        }
        return obj;
    }

    public async Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        if (handle.Kind is not (ObjectKind.Chunk or ObjectKind.Pack))
            return await TryReadAsync(handle, hints, ct).ConfigureAwait(false) is { } obj ? PooledObject.Wrap(obj) : null;
        Interlocked.Increment(ref _requests);
        return await inner.TryReadPooledAsync(handle, hints, ct).ConfigureAwait(false);
    }

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException("a mirror's source is read only");
    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
    public bool HoldsLocally(ObjectHandle handle) => inner.HoldsLocally(handle);
    public void KeepLocally(ObjectHandle handle, ReadOnlySpan<byte> data) => inner.KeepLocally(handle, data);
    public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
    public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException("a mirror's source is read only");
}
