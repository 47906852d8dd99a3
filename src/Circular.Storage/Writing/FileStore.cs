using System.Security.Cryptography;
using Circular.Core.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Posix;

namespace Circular.Storage.Writing;

/// <summary>
/// An archive directory as a writable store: flock(2) locks under .locks/, one syncfs for durability, and swaps that
/// compare the file's SHA-256 (callers swap only under the object's lock, so the check and the rename are not raced
/// by other Circular writers; it still catches a writer that ignores the lock).
/// </summary>
public sealed class FileStore(FileBackend backend) : IArchiveStore
{
    private const string LockDir = ArchiveLayout.LocksDir;

    public FileStore(string root) : this(new FileBackend(root)) { }

    public FileBackend Files { get; } = backend;
    public IArchiveBackend Backend => Files;
    public string Location => Files.Location;
    public string ScratchDirectory => Path.Combine(Files.Location, ".tmp");
    public bool ExclusiveLocks => true;
    public bool IsRemote => false;

    /// <summary>flock locks are never lost while their file stays open.</summary>
    public void ThrowIfLocksLost() { }

    public async Task<IAsyncDisposable> LockAsync(string name, bool exclusive, CancellationToken ct) =>
        new Held(await FileLock.AcquireAsync(Path.Combine(Files.Location, LockDir, name), exclusive, ct).ConfigureAwait(false));

    public ValueTask FlushAsync(CancellationToken ct)
    {
        Files.SyncFileSystem();
        return ValueTask.CompletedTask;
    }

    public async Task<SwapRead> ReadForSwapAsync(ObjectHandle handle, CancellationToken ct)
    {
        var obj = await Files.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false);
        return obj is null ? default : new SwapRead(obj.Data, Tag(obj.Data));
    }

    public async Task<bool> SwapAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, string? tag, CancellationToken ct)
    {
        var now = await Files.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false);
        if ((now is null ? null : Tag(now.Data)) != tag) return false;
        await Files.WriteAsync(handle, data, ct).ConfigureAwait(false);
        return true;
    }

    private static string Tag(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private sealed class Held(FileLock held) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            held.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
