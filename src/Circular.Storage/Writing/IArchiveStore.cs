using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Writing;

/// <summary>
/// The writable side of an archive's storage: a backend plus the three things publishing needs from it and nothing
/// more (docs/format.md, "Writers"): named locks, durability before anything points at new objects, and a
/// compare-and-swap of mutable objects (refs, the image list, keys.json) so no concurrent writer's change is lost.
/// A directory gives these with flock, syncfs and its locks (<see cref="FileStore"/>); an object store with lease
/// objects and conditional writes (Circular.S3).
/// </summary>
public interface IArchiveStore
{
    IArchiveBackend Backend { get; }

    /// <summary>For messages: the directory or s3:// URL.</summary>
    string Location { get; }

    /// <summary>
    /// A lock over the archive named <paramref name="name"/> ("chunks", "image-NAME", "index"): many shared holders or
    /// one exclusive one, waiting until granted. Dispose to release; a holder that dies loses it (flock: at once;
    /// lease objects: when the lease runs out).
    /// </summary>
    Task<IAsyncDisposable> LockAsync(string name, bool exclusive, CancellationToken ct);

    /// <summary>
    /// True when a held lock excludes every other holder for as long as it is held (flock); false when it is a lease
    /// that can lapse under a stalled holder (S3), so a writer must not assume it is alone even while it holds one.
    /// </summary>
    bool ExclusiveLocks { get; }

    /// <summary>
    /// Throws when a lock this store handed out was lost (a lease that could not be renewed, or was taken away):
    /// called right before a step that is only safe under the lock (a refs swap, a gc deletion).
    /// </summary>
    void ThrowIfLocksLost();

    /// <summary>
    /// Objects live behind network round trips (S3): a writer keeps many requests in flight whatever the core count,
    /// and lists what exists once instead of asking per object.
    /// </summary>
    bool IsRemote { get; }

    /// <summary>Makes every object written so far durable, before anything that points at them is written.</summary>
    ValueTask FlushAsync(CancellationToken ct);

    /// <summary>Reads a mutable object with a tag naming exactly this state of it (null data and tag: absent).</summary>
    Task<SwapRead> ReadForSwapAsync(ObjectHandle handle, CancellationToken ct);

    /// <summary>
    /// Writes <paramref name="data"/> only if the object is still in the state <paramref name="tag"/> names (null: still
    /// absent). False, and nothing written, when another writer changed it in between.
    /// </summary>
    Task<bool> SwapAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, string? tag, CancellationToken ct);

    /// <summary>A local directory for a writer's large temporaries (image conversions), on the archive's file system when it has one.</summary>
    string ScratchDirectory { get; }
}

/// <summary>A mutable object's bytes and the tag of that state (both null when it does not exist).</summary>
public readonly record struct SwapRead(byte[]? Data, string? Tag);

/// <summary>Another writer changed an object between our read and our conditional write, more often than we retried.</summary>
public sealed class ConcurrentUpdateException(string message) : Core.Errors.CircularException(message)
{
    public override Core.Errors.ErrorKind Kind => Core.Errors.ErrorKind.Unavailable;
}

/// <summary>A lock this writer held was lost (its lease lapsed or was taken over): it stops before the unsafe step.</summary>
public sealed class LockLostException(string message) : Core.Errors.CircularException(message)
{
    public override Core.Errors.ErrorKind Kind => Core.Errors.ErrorKind.Unavailable;
}
