using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Trust;

namespace Circular.Client;

/// <summary>
/// Measures the manifest of every export opened, before any of its chunks can be served, so a measurement log
/// names the version its chunks belong to. Listing is passed through unchanged.
/// </summary>
public sealed class MeasuringCatalog(IImageCatalog inner, ArchiveReader reader, MeasurementLog log) : IImageCatalog
{
    public IImageCatalog Inner { get; } = inner;

    public ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct) => Inner.ListAsync(ct);

    public async ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct)
    {
        ImageSpec spec;
        try { spec = ImageSpec.Parse(exportName); }
        catch (UsageException) { return await Inner.OpenAsync(exportName, writable, ct).ConfigureAwait(false); }
        var version = await reader.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        log.MeasureManifest(version.Entry.ManifestDigest, version.Name);
        return await Inner.OpenAsync(exportName, writable, ct).ConfigureAwait(false);
    }
}
