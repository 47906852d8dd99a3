using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Tests;

/// <summary>
/// Counts reads per path; can fail the next reads after circular.json (<see cref="FailNext"/>), or every read while
/// <see cref="Down"/>, as a mirror outage would.
/// </summary>
internal sealed class CountingBackend(IArchiveBackend inner) : IArchiveBackend
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _reads = new();
    public int FailNext;
    public volatile bool Down;
    public int Reads(string path) => _reads.GetValueOrDefault(path);
    public string Location => inner.Location;
    public bool IsWritable => false;

    public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        string path = handle.Path;
        _reads.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (Down || (path != "circular.json" && Interlocked.Decrement(ref FailNext) >= 0))
            throw new BackendUnavailableException($"{path}: unreachable", new IOException());
        return inner.TryReadAsync(handle, hints, ct);
    }

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException();
    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
    public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
    public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException();
}
