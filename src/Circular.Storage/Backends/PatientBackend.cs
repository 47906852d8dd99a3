using Circular.Core.Archive;
using Circular.Storage.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Circular.Storage.Backends;

/// <summary>
/// Waits through network outages (nbdkit's retry filter): a read that finds no mirror reachable is tried again, with
/// growing pauses, until <paramref name="patience"/> has passed since the outage began; only then does it fail. For a
/// client whose root file system is the archive (the booting machine), where a failed read is an I/O error in the
/// running system but a late one is only a pause. Never returns anything a mirror did not send: it only repeats reads.
/// </summary>
public sealed class PatientBackend(IArchiveBackend inner, TimeSpan patience, ILogger log, TimeProvider? clock = null) : IArchiveBackend
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private long _outageSince = -1;

    public IArchiveBackend Inner => inner;
    public string Location => inner.Location;
    public bool IsWritable => inner.IsWritable;

    public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        PatientlyAsync(() => inner.TryReadAsync(handle, hints, ct), handle, ct);

    public Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        PatientlyAsync(() => inner.TryReadPooledAsync(handle, hints, ct), handle, ct);

    private async Task<T> PatientlyAsync<T>(Func<Task<T>> read, ObjectHandle handle, CancellationToken ct)
    {
        for (int round = 0; ; round++)
        {
            try
            {
                var result = await read().ConfigureAwait(false);
                Recovered();
                return result;
            }
            catch (BackendUnavailableException e)
            {
                var (waited, began) = Outage();
                if (waited >= patience) throw new BackendUnavailableException($"{e.Message} (waited {waited.TotalSeconds:0} s for the network)", e);
                if (began) log.WaitingForNetwork(inner.Location, handle.Path, (int)patience.TotalSeconds);
                var pause = TimeSpan.FromSeconds(Math.Min(5, 1 << Math.Min(round, 3)));
                await Task.Delay(pause < patience - waited ? pause : patience - waited, _clock, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How long the current outage has lasted, and whether this failure began it.</summary>
    private (TimeSpan Waited, bool Began) Outage()
    {
        lock (_lock)
        {
            bool began = _outageSince < 0;
            if (began) _outageSince = _clock.GetTimestamp();
            return (_clock.GetElapsedTime(_outageSince), began);
        }
    }

    private void Recovered()
    {
        long since;
        lock (_lock)
        {
            since = _outageSince;
            _outageSince = -1;
        }
        if (since >= 0) log.NetworkBack(inner.Location, (int)_clock.GetElapsedTime(since).TotalSeconds);
    }

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => inner.WriteAsync(handle, data, ct);
    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
    public bool HoldsLocally(ObjectHandle handle) => inner.HoldsLocally(handle);
    public void KeepLocally(ObjectHandle handle, ReadOnlySpan<byte> data) => inner.KeepLocally(handle, data);
    public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
    public Task DeleteAsync(string path, CancellationToken ct) => inner.DeleteAsync(path, ct);

}
