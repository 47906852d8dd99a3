using Circular.Imaging.Images;

namespace Circular.Imaging.Catalog;

/// <summary>
/// What a front end can serve: named exports such as "os" (latest), "os@3" and "os@stable".
/// NBD uses the names as export names; FUSE shows them as files NAME/VERSION.img, NAME/latest.img, NAME/TAG.img.
/// </summary>
public interface IImageCatalog
{
    /// <summary>All exports, freshly read (new versions appear without a restart).</summary>
    ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct);

    /// <summary>Opens an export by name. Throws Core.Errors.NotFoundException for an unknown name.</summary>
    ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct);
}

/// <summary>
/// One export. <see cref="Image"/> and <see cref="Selector"/> place it in a tree
/// (Selector is a version number, a tag, or "latest"); <see cref="Name"/> is the NBD export name.
/// </summary>
public sealed record CatalogEntry(string Name, string Image, string Selector, int Version, long Size, string Description);
