using Circular.Fuse.Protocol;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;

namespace Circular.Fuse.Tree;

/// <summary>
/// One export shown as "&lt;selector&gt;.img". All open handles share one <see cref="IBlockImage"/>: it is opened on
/// the first OPEN and disposed after the last RELEASE, and a reopen waits for that dispose to finish so two
/// instances of one writable export never overlap.
/// </summary>
internal sealed class FileNode(ulong id, long mtimeSeconds, CatalogEntry entry) : Node(id, mtimeSeconds)
{
    private readonly Lock _gate = new();
    private Task<IBlockImage>? _image;
    private int _handles;
    private Task _lastDispose = Task.CompletedTask;

    public CatalogEntry Entry { get; } = entry;

    public override bool IsDirectory => false;

    public override void FillAttr(ref FuseAttr attr, in NodeOwner owner)
    {
        FillCommon(ref attr, owner);
        attr.Mode = FuseConstants.SIfReg | (owner.Writable ? 0x1A4u : 0x124u); // 0644 or 0444
        attr.Nlink = 1;
        attr.Size = (ulong)Entry.Size;
        attr.Blocks = (ulong)((Entry.Size + 511) / 512);
    }

    /// <summary>Takes a reference on the shared image, opening it if this is the first handle.</summary>
    public async ValueTask<IBlockImage> AcquireAsync(IImageCatalog catalog, bool writable, CancellationToken ct)
    {
        Task<IBlockImage> opening;
        lock (_gate)
        {
            _handles++;
            opening = _image ??= OpenAsync(catalog, Entry.Name, writable, _lastDispose, ct);
        }
        try
        {
            return await opening.ConfigureAwait(false);
        }
        catch
        {
            lock (_gate)
            {
                _handles--;
                if (ReferenceEquals(_image, opening)) _image = null; // let the next OPEN retry
            }
            throw;
        }
    }

    /// <summary>Drops a reference taken by <see cref="AcquireAsync"/>; the last one disposes the image.</summary>
    public Task ReleaseAsync()
    {
        lock (_gate)
        {
            if (--_handles > 0 || _image is null) return Task.CompletedTask;
            _lastDispose = DisposeAsync(_image);
            _image = null;
            return _lastDispose;
        }
    }

    private static async Task<IBlockImage> OpenAsync(IImageCatalog catalog, string name, bool writable, Task previousDispose, CancellationToken ct)
    {
        try
        {
            await previousDispose.ConfigureAwait(false);
        }
        catch
        {
            // Already logged by whoever released it; a failed dispose must not block a fresh open.
        }
        if (!writable) return await catalog.OpenAsync(name, false, ct).ConfigureAwait(false);
        try
        {
            return await catalog.OpenAsync(name, true, ct).ConfigureAwait(false);
        }
        catch (ReadOnlyImageException)
        {
            // A writable mount may still show archive versions that cannot be written: serve them read-only
            // and let WRITE answer EROFS.
            return await catalog.OpenAsync(name, false, ct).ConfigureAwait(false);
        }
    }

    private static async Task DisposeAsync(Task<IBlockImage> image)
    {
        IBlockImage opened;
        try
        {
            opened = await image.ConfigureAwait(false);
        }
        catch
        {
            return; // never opened, nothing to dispose
        }
        await opened.DisposeAsync().ConfigureAwait(false);
    }
}
