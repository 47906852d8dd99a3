using System.Text;
using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.S3;

/// <summary>
/// A lock in an object store, restic's way: each holder writes its own object under <c>.locks/NAME/</c>
/// (<c>x-ID</c> exclusive, <c>s-ID</c> shared), then lists the others. A shared holder backs off while a live
/// exclusive one exists; an exclusive holder while any other live one exists. Both write before they look, so two
/// racing holders see each other (S3 lists are strongly consistent) and at worst both back off and retry with jitter.
/// A holder renews its object every third of the lease; one not renewed within the lease (its writer died) is stale,
/// ignored and removed. docs/format.md, "Writers", has the protocol.
/// </summary>
public sealed class S3LeaseLock : IAsyncDisposable
{
    public static readonly TimeSpan DefaultLease = TimeSpan.FromMinutes(2);
    private const string LockRoot = ArchiveLayout.LocksDir;

    private readonly S3Backend _s3;
    private readonly ObjectHandle _own;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;

    private S3LeaseLock(S3Backend s3, ObjectHandle own, TimeSpan lease)
    {
        _s3 = s3;
        _own = own;
        _renewing = RenewAsync(lease / 3, _stop.Token);
    }

    public static async Task<S3LeaseLock> AcquireAsync(S3Backend s3, string name, bool exclusive, TimeSpan lease, CancellationToken ct,
        Microsoft.Extensions.Logging.ILogger? log = null)
    {
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        bool told = false;
        string dir = $"{LockRoot}/{name}/";
        var own = Handle($"{dir}{(exclusive ? 'x' : 's')}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        byte[] body = Encoding.UTF8.GetBytes($"{{\"host\":\"{Environment.MachineName}\",\"pid\":{Environment.ProcessId},\"exclusive\":{(exclusive ? "true" : "false")}}}\n");
        int delayMs = 50;
        while (true)
        {
            await s3.WriteAsync(own, body, ct).ConfigureAwait(false);
            bool blocked = false;
            try
            {
                await foreach (var e in s3.ListPrefixAsync(dir, ct).ConfigureAwait(false))
                {
                    if (e.Path == own.Path) continue;
                    // Stale: its writer stopped renewing it (crashed or killed). The server's clock stamps both, so
                    // only our own clock's drift during one lease matters.
                    if (DateTime.UtcNow - e.LastWriteUtc > lease + lease)
                    {
                        await s3.DeleteAsync(e.Path, ct).ConfigureAwait(false);
                        continue;
                    }
                    if (exclusive || e.Name.StartsWith("x-", StringComparison.Ordinal))
                    {
                        blocked = true;
                        if (!told && waiting.Elapsed > TimeSpan.FromSeconds(2) && log is not null)
                        {
                            told = true;
                            S3Log.WaitingForLock(log, name, e.Name, (int)(lease * 2).TotalSeconds);
                        }
                    }
                }
            }
            catch
            {
                await s3.DeleteAsync(own.Path, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            if (!blocked) return new S3LeaseLock(s3, own, lease);
            await s3.DeleteAsync(own.Path, ct).ConfigureAwait(false);
            await Task.Delay(delayMs + Random.Shared.Next(delayMs), ct).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, 2000);
        }
    }

    private static ObjectHandle Handle(string path) => ObjectHandle.Lock(path);

    private async Task RenewAsync(TimeSpan every, CancellationToken ct)
    {
        byte[] body = Encoding.UTF8.GetBytes("{\"renewed\":true}\n");
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, ct).ConfigureAwait(false);
                await _s3.WriteAsync(_own, body, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (Core.Errors.CircularException) { } // the next round tries again; the lease is twice the renewal span
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(false);
        _stop.Dispose();
        await _s3.DeleteAsync(_own.Path, CancellationToken.None).ConfigureAwait(false);
    }
}
