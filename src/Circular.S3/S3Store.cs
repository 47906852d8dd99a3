using Circular.Core.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Writing;

namespace Circular.S3;

/// <summary>
/// An S3 archive as a writable store: every PUT is atomic and durable when it returns (nothing to flush), mutable
/// objects are swapped with conditional writes (If-Match on the ETag read, If-None-Match: * for a new object), and
/// locks are lease objects (<see cref="S3LeaseLock"/>, docs/format.md "Writers").
/// </summary>
public sealed class S3Store(S3Backend backend) : IArchiveStore, IDisposable
{
    public S3Backend S3 { get; } = backend;
    public IArchiveBackend Backend => S3;
    public string Location => S3.Location;
    public string ScratchDirectory => Path.Combine(Path.GetTempPath(), "circular-scratch");
    /// <summary>How long a lock lives without renewal; holders renew it at a third of this.</summary>
    public TimeSpan Lease { get; init; } = S3LeaseLock.DefaultLease;
    /// <summary>Where a writer waiting for another's lock says so.</summary>
    public Microsoft.Extensions.Logging.ILogger? Log { get; init; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<S3LeaseLock, byte> _held = new();

    /// <summary>Leases lapse under a holder stalled past them: holding one is no proof of being alone.</summary>
    public bool ExclusiveLocks => false;
    public bool IsRemote => true;

    public async Task<IAsyncDisposable> LockAsync(string name, bool exclusive, CancellationToken ct)
    {
        var held = await S3LeaseLock.AcquireAsync(S3, name, exclusive, Lease, ct, Log, released: l => _held.TryRemove(l, out _)).ConfigureAwait(false);
        _held[held] = 0;
        return held;
    }

    public void ThrowIfLocksLost()
    {
        foreach (var l in _held.Keys)
            if (l.Lost is { } why)
                throw new Storage.Writing.LockLostException($"{Location}: the '{l.Name}' lock was lost ({why}); stopped before anything unsafe, run it again");
    }

    public ValueTask FlushAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public async Task<SwapRead> ReadForSwapAsync(ObjectHandle handle, CancellationToken ct)
    {
        var read = await S3.TryGetAsync(handle, ct).ConfigureAwait(false);
        if (read is not { } r) return default;
        using var body = r.Body;
        return new SwapRead(body.Data.ToArray(), r.ETag ?? throw new Core.Errors.CircularException($"{Location}/{handle.Path}: the store gave no ETag, so it cannot be replaced safely"));
    }

    public async Task<bool> SwapAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, string? tag, CancellationToken ct)
    {
        if (await S3.PutAsync(handle, data, ifMatch: tag, ifNoneMatch: tag is null, ct).ConfigureAwait(false) is not null) return true;
        // The SDK retries a PUT whose answer was lost; if the first attempt had written, the retry's condition fails
        // against our own write. The object then holds exactly our bytes: that is a success, not a lost race.
        var now = await S3.TryGetAsync(handle, ct).ConfigureAwait(false);
        if (now is not { } r) return false;
        using var body = r.Body;
        return body.Data.Span.SequenceEqual(data.Span);
    }

    public void Dispose() => S3.Dispose();
}
