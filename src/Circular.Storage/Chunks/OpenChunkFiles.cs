using System.Collections.Concurrent;
using Circular.Core.Chunks;
using Microsoft.Win32.SafeHandles;

namespace Circular.Storage.Chunks;

/// <summary>
/// Open handles of local chunk files that small reads keep coming back to, so a 4 KiB read is one pread (as from a raw
/// image) rather than open, pread and close. Bounded: past the capacity half the handles are closed. A handle closed
/// under a reader makes that read fall back (ObjectDisposedException), never fail.
/// </summary>
internal sealed class OpenChunkFiles(int capacity)
{
    private readonly ConcurrentDictionary<ChunkId, SafeFileHandle> _handles = new();

    /// <summary>The open handle of <paramref name="path"/>, or null when it cannot be opened (gone, unreadable).</summary>
    public SafeFileHandle? Get(ChunkId id, string path)
    {
        if (_handles.TryGetValue(id, out var open)) return open;
        SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (_handles.Count >= capacity) Trim();
        if (_handles.TryAdd(id, handle)) return handle;
        handle.Dispose();
        return _handles.TryGetValue(id, out open) ? open : null;
    }

    /// <summary>Closes the handle of a file that changed or failed, so the next read opens it afresh.</summary>
    public void Forget(ChunkId id)
    {
        if (_handles.TryRemove(id, out var handle)) handle.Dispose();
    }

    private void Trim()
    {
        foreach (var id in _handles.Keys.Take(Math.Max(1, capacity / 2)).ToList()) Forget(id);
    }
}
