using Circular.Imaging.Images;

namespace Circular.Imaging.Catalog;

/// <summary>
/// What a front end can serve: named exports such as "os" (latest), "os@3" and "os@stable".
/// NBD uses the names as export names; FUSE shows them as files NAME/VERSION.img, NAME/latest.img, NAME/TAG.img.
/// </summary>
/// <remarks>
/// The contract every implementation keeps (tests/Circular.Testing/ImageCatalogContract.cs checks it for each):
/// <list type="bullet">
/// <item><see cref="ListAsync"/> gives each export once, by unique <see cref="CatalogEntry.Name"/>, with the size an open of it has.</item>
/// <item><see cref="OpenAsync"/> of a name not listed throws Core.Errors.NotFoundException; of a listed one, gives a new
/// image (a lease) of the entry's size.</item>
/// <item>writable: false gives an image with IsWritable false, whose writes throw ReadOnlyImageException.
/// writable: true gives a writable image when the catalog keeps writes for that export, and otherwise a read-only one
/// (IsWritable false, which front ends advertise: NBD's READ_ONLY flag, EROFS from FUSE); it never throws because the
/// source cannot take writes. A caller that needs writes checks IsWritable.</item>
/// <item>A read-only open reads the export as published. Writable opens of one export read the same bytes: a write
/// through one is read by every other writable lease of it, opened before or after.</item>
/// <item>Disposing a lease makes its writes durable (as FlushAsync) and ends it: other leases, and what the catalog keeps
/// (overlays), are unaffected; disposing twice is harmless. Disposing the catalog, where it is disposable, closes
/// what the catalog keeps.</item>
/// </list>
/// </remarks>
public interface IImageCatalog
{
    /// <summary>All exports, freshly read (new versions appear without a restart).</summary>
    ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct);

    /// <summary>Opens an export by name (see the contract above). Throws Core.Errors.NotFoundException for an unknown name.</summary>
    ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct);
}

/// <summary>
/// One export. <see cref="Image"/> and <see cref="Selector"/> place it in a tree
/// (Selector is a version number, a tag, or "latest"); <see cref="Name"/> is the NBD export name.
/// </summary>
public sealed record CatalogEntry(string Name, string Image, string Selector, int Version, long Size, string Description);
