using Circular.Core.Archive;

namespace Circular.Storage.Writing;

/// <summary>The read-change-swap loop over a store's mutable objects, shared by every writer (publishing, mirroring).</summary>
public static class StoreSwaps
{
    /// <summary>Rounds before giving up to a writer that keeps changing the same object.</summary>
    public const int Attempts = 8;

    /// <summary>
    /// Reads, changes (<paramref name="change"/> returns the new bytes, or null for nothing to change) and
    /// compare-and-swaps, again while another writer got there first. Returns the bytes written, or null.
    /// </summary>
    public static async Task<byte[]?> SwapAsync<T>(IArchiveStore store, ObjectHandle handle, Func<byte[]?, T> parse, Func<T, byte[]?> change, CancellationToken ct)
    {
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            var read = await store.ReadForSwapAsync(handle, ct).ConfigureAwait(false);
            if (change(parse(read.Data)) is not { } bytes) return null;
            if (await store.SwapAsync(handle, bytes, read.Tag, ct).ConfigureAwait(false)) return bytes;
        }
        throw new ConcurrentUpdateException($"{store.Location}/{handle.Path} kept changing under another writer; run it again");
    }

    /// <summary>Adds an image to images.json under the index lock (nothing when it is listed). Returns the bytes written, or null.</summary>
    public static async Task<byte[]?> AddToIndexAsync(IArchiveStore store, string image, CancellationToken ct)
    {
        await using var indexLock = await store.LockAsync("index", exclusive: true, ct).ConfigureAwait(false);
        return await SwapAsync(store, ObjectHandle.ImageIndex, data => data is null ? new ImageIndex() : ImageIndex.Parse(data, store.Location), index =>
        {
            if (index.Images.Contains(image)) return null;
            index.Images.Add(image);
            index.Images.Sort(StringComparer.Ordinal);
            return index.Serialize();
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Raises circular.json's format version to at least <paramref name="version"/> before anything of that format is
    /// written, so an older client refuses the archive as a whole ("too new") instead of meeting an object it cannot
    /// read. True when it changed the file.
    /// </summary>
    public static async Task<bool> RequireFormatAsync(IArchiveStore store, int version, CancellationToken ct)
    {
        var written = await SwapAsync(store, ObjectHandle.Config, data => data is null
                ? throw new Core.Errors.NotFoundException($"{store.Location} is not a Circular archive (no circular.json)")
                : ArchiveConfig.Parse(data, store.Location),
            config => config.FormatVersion >= version ? null : (config with { FormatVersion = version }).Serialize(), ct).ConfigureAwait(false);
        if (written is null) return false;
        await store.FlushAsync(ct).ConfigureAwait(false);
        return true;
    }
}
