using System.Collections.Concurrent;

namespace Circular.Storage.Archive;

/// <summary>
/// Answers repeated reads of one piece of mutable metadata (refs, the image index) from the first read for a short
/// time, one fetch shared by every caller that asks meanwhile. A failed or cancelled fetch is forgotten at once.
/// </summary>
internal sealed class MetadataMemo<TKey, TValue>(TimeSpan maxAge, TimeProvider clock) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();

    private sealed class Entry(long stamp, Lazy<Task<TValue>> value)
    {
        public long Stamp { get; } = stamp;
        public Lazy<Task<TValue>> Value { get; } = value;
    }

    public Task<TValue> GetAsync(TKey key, Func<TKey, Task<TValue>> fetch)
    {
        while (true)
        {
            if (_entries.TryGetValue(key, out var old) && Usable(old)) return old.Value.Value;
            var fresh = new Entry(clock.GetTimestamp(), new Lazy<Task<TValue>>(() => Start(fetch, key)));
            bool stored = old is null ? _entries.TryAdd(key, fresh) : _entries.TryUpdate(key, fresh, old);
            if (stored) return fresh.Value.Value;
        }
    }

    /// <summary>The value a fresh, finished fetch of <paramref name="key"/> gave, without starting one.</summary>
    public bool TryGetCompleted(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var e) && Usable(e) && e.Value.IsValueCreated && e.Value.Value.IsCompletedSuccessfully)
        {
            value = e.Value.Value.Result;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>A fetch that throws before returning its task fails like one that faults, so it is forgotten too (Lazy would keep the exception).</summary>
    private static Task<TValue> Start(Func<TKey, Task<TValue>> fetch, TKey key)
    {
        try { return fetch(key); }
        catch (Exception e) { return Task.FromException<TValue>(e); }
    }

    private bool Usable(Entry e)
    {
        if (clock.GetElapsedTime(e.Stamp) > maxAge) return false;
        if (!e.Value.IsValueCreated) return true;
        var t = e.Value.Value;
        return !t.IsFaulted && !t.IsCanceled;
    }
}
