using System.Text;
using Circular.Core.Archive;

namespace Circular.S3;

/// <summary>
/// A lock in an object store, restic's way: each holder writes its own object under <c>.locks/NAME/</c>
/// (<c>x-ID</c> exclusive, <c>s-ID</c> shared), then lists the others. A shared holder backs off while a live
/// exclusive one exists; an exclusive holder while any other live one exists. Both write before they look, so two
/// racing holders see each other (S3 lists are strongly consistent) and at worst both back off and retry with jitter.
/// A holder renews its object every third of the lease, conditionally on its own ETag; an object not renewed for
/// twice the lease is stale (its writer died), judged by the server's clock alone (the LastModified of our own
/// object, written just before the listing), and is ignored and removed. A holder that cannot renew within the
/// lease, or finds its object replaced or gone, knows it has lost the lock (<see cref="Lost"/>). docs/format.md,
/// "Writers and locks", has the protocol.
/// </summary>
public sealed class S3LeaseLock : IAsyncDisposable
{
    public static readonly TimeSpan DefaultLease = TimeSpan.FromMinutes(2);
    private const string LockRoot = ArchiveLayout.LocksDir;

    private readonly S3Backend _s3;
    private readonly ObjectHandle _own;
    private readonly TimeSpan _lease;
    private readonly Action<S3LeaseLock>? _released;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;
    private string _etag;
    private volatile string? _lost;

    private S3LeaseLock(S3Backend s3, string name, ObjectHandle own, string etag, TimeSpan lease, Action<S3LeaseLock>? released)
    {
        _s3 = s3;
        Name = name;
        _own = own;
        _etag = etag;
        _lease = lease;
        _released = released;
        _renewing = RenewAsync(_stop.Token);
    }

    public string Name { get; }

    /// <summary>Why the lock was lost, or null while it is held.</summary>
    public string? Lost => _lost;

    public static async Task<S3LeaseLock> AcquireAsync(S3Backend s3, string name, bool exclusive, TimeSpan lease, CancellationToken ct,
        Microsoft.Extensions.Logging.ILogger? log = null, Action<S3LeaseLock>? released = null)
    {
        string dir = $"{LockRoot}/{name}/";
        var own = ObjectHandle.Lock($"{dir}{(exclusive ? 'x' : 's')}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        byte[] body = Body(exclusive);
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        bool told = false;
        int delayMs = 50;
        while (true)
        {
            string etag = await s3.PutAsync(own, body, ifMatch: null, ifNoneMatch: false, ct).ConfigureAwait(false) ?? "";
            bool blocked = false;
            try
            {
                var entries = new List<Storage.Backends.BackendEntry>();
                await foreach (var e in s3.ListPrefixAsync(dir, ct).ConfigureAwait(false)) entries.Add(e);
                // "Now" on the server's clock: our own object was stamped by it a moment ago.
                var serverNow = entries.FirstOrDefault(e => e.Path == own.Path)?.LastWriteUtc ?? DateTime.UtcNow;
                foreach (var e in entries)
                {
                    if (e.Path == own.Path) continue;
                    if (serverNow - e.LastWriteUtc > lease + lease)
                    {
                        await s3.DeleteAsync(e.Path, ct).ConfigureAwait(false);
                        continue;
                    }
                    if (!exclusive && !e.Name.StartsWith("x-", StringComparison.Ordinal)) continue;
                    blocked = true;
                    if (!told && waiting.Elapsed > TimeSpan.FromSeconds(2) && log is not null)
                    {
                        told = true;
                        S3Log.WaitingForLock(log, name, e.Name, (int)(lease * 2).TotalSeconds);
                    }
                }
            }
            catch
            {
                await s3.DeleteAsync(own.Path, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            if (!blocked) return new S3LeaseLock(s3, name, own, etag, lease, released);
            // Never leave our object behind on the way out: it would block others for two leases.
            await s3.DeleteAsync(own.Path, CancellationToken.None).ConfigureAwait(false);
            await Task.Delay(delayMs + Random.Shared.Next(delayMs), ct).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, 2000);
        }
    }

    private static byte[] Body(bool exclusive) =>
        Encoding.UTF8.GetBytes($"{{\"host\":\"{Environment.MachineName}\",\"pid\":{Environment.ProcessId},\"exclusive\":{(exclusive ? "true" : "false")}}}\n");

    private async Task RenewAsync(CancellationToken ct)
    {
        byte[] body = Body(_own.Path.Contains("/x-", StringComparison.Ordinal));
        var lastRenewed = System.Diagnostics.Stopwatch.StartNew();
        while (!ct.IsCancellationRequested && _lost is null)
        {
            try
            {
                await Task.Delay(_lease / 3, ct).ConfigureAwait(false);
                // Conditional on our own last write: if a peer judged us stale and removed (or replaced) the object,
                // recreating it blindly would hide that we are no longer alone.
                var etag = await _s3.PutAsync(_own, body, ifMatch: _etag, ifNoneMatch: false, ct).ConfigureAwait(false);
                if (etag is null)
                {
                    _lost = "another writer removed it as stale";
                    return;
                }
                _etag = etag;
                lastRenewed.Restart();
            }
            catch (OperationCanceledException) { return; }
            catch (Core.Errors.CircularException e)
            {
                if (lastRenewed.Elapsed >= _lease) _lost = $"not renewed for {_lease.TotalSeconds:0} s: {e.Message}";
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(false);
        _stop.Dispose();
        _released?.Invoke(this);
        try { await _s3.DeleteAsync(_own.Path, CancellationToken.None).ConfigureAwait(false); }
        catch (Core.Errors.CircularException) { } // left behind, it lapses in two leases; never mask the caller's own error
    }
}
