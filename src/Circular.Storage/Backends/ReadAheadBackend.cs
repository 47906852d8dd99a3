using System.Collections.Concurrent;
using Circular.Core.Archive;

namespace Circular.Storage.Backends;

/// <summary>
/// Starts reads of objects the caller is about to read one after another, all at once: an archive's own metadata at
/// open (circular.json, then the image list, keys and mirror list, then an image's refs), which over a WAN cost one
/// round trip each, the first ones on new connections. A later read of such an object takes the read already under
/// way, with its result or its error, instead of asking again. Each read ahead is taken once, and only within
/// <see cref="Freshness"/> of its start (refs change: a read long after the open must see the archive as it is then);
/// reads with hints (a retry after bad data) never take one.
/// </summary>
public sealed class ReadAheadBackend(IArchiveBackend inner, TimeProvider? clock = null) : IArchiveBackend
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (Task<BackendObject?> Read, long Started)> _ahead = new(StringComparer.Ordinal);

    /// <summary>How long a read ahead may answer a later read, counted from its start.</summary>
    public static TimeSpan Freshness { get; } = TimeSpan.FromSeconds(30);

    public IArchiveBackend Inner => inner;
    public string Location => inner.Location;
    public bool IsWritable => inner.IsWritable;

    /// <summary>Starts reading each of <paramref name="handles"/> (those already under way are left as they are).</summary>
    public void ReadAhead(IEnumerable<ObjectHandle> handles, CancellationToken ct)
    {
        foreach (var handle in handles)
        {
            if (_ahead.ContainsKey(handle.Path)) continue;
            var read = ReadAsync(handle, ct);
            // A read nobody takes must not leave an unobserved exception behind.
            _ = read.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _ahead.TryAdd(handle.Path, (read, _clock.GetTimestamp()));
        }
    }

    // A backend that fails before its first await (no network at all) fails this task, not the caller of ReadAhead.
    private async Task<BackendObject?> ReadAsync(ObjectHandle handle, CancellationToken ct) =>
        await inner.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false);

    /// <summary>How many reads ahead are still untaken (for tests).</summary>
    public int Pending => _ahead.Count;

    public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        Take(handle, hints) is { } read ? read.WaitAsync(ct) : inner.TryReadAsync(handle, hints, ct);

    public async Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        Take(handle, hints) is { } read
            ? await read.WaitAsync(ct).ConfigureAwait(false) is { } obj ? PooledObject.Wrap(obj) : null
            : await inner.TryReadPooledAsync(handle, hints, ct).ConfigureAwait(false);

    private Task<BackendObject?>? Take(ObjectHandle handle, ReadHints hints)
    {
        if (_ahead.IsEmpty || !_ahead.TryRemove(handle.Path, out var ahead)) return null;
        return hints == ReadHints.None && _clock.GetElapsedTime(ahead.Started) <= Freshness ? ahead.Read : null;
    }

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        _ahead.TryRemove(handle.Path, out _);
        return inner.WriteAsync(handle, data, ct);
    }

    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
    public bool HoldsLocally(ObjectHandle handle) => inner.HoldsLocally(handle);
    public void KeepLocally(ObjectHandle handle, ReadOnlySpan<byte> data) => inner.KeepLocally(handle, data);
    public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);

    public Task DeleteAsync(string path, CancellationToken ct)
    {
        _ahead.TryRemove(path, out _);
        return inner.DeleteAsync(path, ct);
    }
}
