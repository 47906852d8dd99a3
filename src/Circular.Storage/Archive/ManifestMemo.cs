using Circular.Core.Manifests;

namespace Circular.Storage.Archive;

/// <summary>
/// The manifests a reader loaded lately, by digest (their content never changes), bounded by the block entries they
/// hold: a front end opening the same version per connection or per request parses it once, and a catalog of huge
/// images cannot fill memory. Concurrent loads of one digest share one fetch.
/// </summary>
internal sealed class ManifestMemo(long maxBlocks)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<(string Digest, Task<Manifest> Load)> _lru = new();
    private readonly Dictionary<string, LinkedListNode<(string Digest, Task<Manifest> Load)>> _map = new(StringComparer.Ordinal);
    private long _blocks;

    /// <summary>The default bound: 4 M block entries (128 MiB of chunk ids), e.g. eight 512 GiB images at 256 KiB.</summary>
    public const long DefaultMaxBlocks = 4L << 20;

    public Task<Manifest> GetAsync(string digest, Func<Task<Manifest>> load)
    {
        Task<Manifest> task;
        lock (_lock)
        {
            if (_map.TryGetValue(digest, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                return node.Value.Load;
            }
            task = Start(load);
            _map[digest] = _lru.AddFirst((digest, task));
        }
        _ = task.ContinueWith(t => Settle(digest, t), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    private static Task<Manifest> Start(Func<Task<Manifest>> load)
    {
        try { return load(); }
        catch (Exception e) { return Task.FromException<Manifest>(e); }
    }

    /// <summary>A failed load is forgotten; a good one is counted against the bound, evicting the least recently used.</summary>
    private void Settle(string digest, Task<Manifest> t)
    {
        lock (_lock)
        {
            if (!_map.TryGetValue(digest, out var node) || node.Value.Load != t) return;
            if (!t.IsCompletedSuccessfully)
            {
                _lru.Remove(node);
                _map.Remove(digest);
                return;
            }
            _blocks += t.Result.Map.Count;
            while (_blocks > maxBlocks && _lru.Last is { } last && last != node)
            {
                _lru.RemoveLast();
                _map.Remove(last.Value.Digest);
                if (last.Value.Load.IsCompletedSuccessfully) _blocks -= last.Value.Load.Result.Map.Count;
            }
        }
    }
}
