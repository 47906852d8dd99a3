namespace Circular.Nbd;

/// <summary>
/// Bounds the requests (and payload bytes) one connection has in progress. The connection's reader is the
/// only waiter, so one pending completion source suffices; it is allocated only when the reader must wait.
/// </summary>
internal sealed class InFlightLimiter(int maxCount, long maxBytes)
{
    private readonly Lock _gate = new();
    private int _count;
    private long _bytes;
    private TaskCompletionSource? _changed;

    /// <summary>Admits one request holding <paramref name="bytes"/> of buffers; waits while the connection is full.</summary>
    public ValueTask WaitAsync(long bytes, CancellationToken ct)
    {
        lock (_gate)
        {
            if (TryTake(bytes))
                return ValueTask.CompletedTask;
        }
        return WaitSlowAsync(bytes, ct);
    }

    private async ValueTask WaitSlowAsync(long bytes, CancellationToken ct)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (TryTake(bytes))
                    return;
                _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed = _changed.Task;
            }
            await changed.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public void Release(long bytes)
    {
        TaskCompletionSource? changed;
        lock (_gate)
        {
            _count--;
            _bytes -= bytes;
            changed = _changed;
            _changed = null;
        }
        changed?.TrySetResult();
    }

    /// <summary>Waits until every admitted request has been released (DISC, or the end of a connection).</summary>
    public async Task DrainAsync()
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_count == 0)
                    return;
                _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed = _changed.Task;
            }
            await changed.ConfigureAwait(false);
        }
    }

    // A request bigger than the byte budget still runs, alone, so a MaxPayload request can never deadlock.
    private bool TryTake(long bytes)
    {
        if (_count >= maxCount || (_count > 0 && _bytes + bytes > maxBytes))
            return false;
        _count++;
        _bytes += bytes;
        return true;
    }
}
