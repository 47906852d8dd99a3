using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Imaging.Tests;

/// <summary>An archive backend in a dictionary, counting writes and existence checks.</summary>
public sealed class MemoryBackend : IArchiveBackend
{
    public ConcurrentDictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
    public int Writes;

    public string Location => "memory";
    public bool IsWritable => true;

    public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        Task.FromResult(Files.TryGetValue(handle.Path, out var d) ? new BackendObject(d, "memory:" + handle.Path) : null);

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => WriteAsync(handle.Path, data, ct);

    public Task WriteAsync(string path, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        Interlocked.Increment(ref Writes);
        Files[path] = data.ToArray();
        return Task.CompletedTask;
    }

    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => Task.FromResult(Files.ContainsKey(handle.Path));

    public async IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, [EnumeratorCancellation] CancellationToken ct)
    {
        string directory = ArchiveLayout.DirectoryOf(kind, image);
        foreach (var kv in Files.Where(f => f.Key.StartsWith(directory + "/", StringComparison.Ordinal)))
            yield return new BackendEntry(kv.Key, kv.Value.Length, DateTime.UtcNow);
        await Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken ct)
    {
        Files.TryRemove(path, out _);
        return Task.CompletedTask;
    }
}
