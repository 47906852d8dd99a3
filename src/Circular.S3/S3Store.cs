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

    public async Task<IAsyncDisposable> LockAsync(string name, bool exclusive, CancellationToken ct) =>
        await S3LeaseLock.AcquireAsync(S3, name, exclusive, Lease, ct, Log).ConfigureAwait(false);

    public ValueTask FlushAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public async Task<SwapRead> ReadForSwapAsync(ObjectHandle handle, CancellationToken ct)
    {
        var read = await S3.TryGetAsync(handle, ct).ConfigureAwait(false);
        if (read is not { } r) return default;
        using var body = r.Body;
        return new SwapRead(body.Data.ToArray(), r.ETag ?? throw new Core.Errors.CircularException($"{Location}/{handle.Path}: the store gave no ETag, so it cannot be replaced safely"));
    }

    public Task<bool> SwapAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, string? tag, CancellationToken ct) =>
        S3.PutAsync(handle, data, ifMatch: tag, ifNoneMatch: tag is null, ct);

    public void Dispose() => S3.Dispose();
}
