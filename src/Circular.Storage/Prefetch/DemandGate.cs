namespace Circular.Storage.Prefetch;

/// <summary>
/// Counts reads a client is waiting for, so background prefetching can step aside while any are outstanding:
/// the guest's own reads always go first.
/// </summary>
public sealed class DemandGate
{
    private int _waiting;

    /// <summary>Raised when the last waiting read completes.</summary>
    public event Action? Idle;

    public bool Busy => Volatile.Read(ref _waiting) > 0;

    public void Enter() => Interlocked.Increment(ref _waiting);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _waiting) == 0) Idle?.Invoke();
    }
}
