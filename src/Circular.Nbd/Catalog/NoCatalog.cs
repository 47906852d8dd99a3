using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;

namespace Circular.Nbd.Catalog;

/// <summary>The catalog of a server that serves one export it was handed (kernel attach): nothing to list or open.</summary>
internal sealed class NoCatalog : IImageCatalog
{
    public ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct) => ValueTask.FromResult<IReadOnlyList<CatalogEntry>>([]);

    public ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct) =>
        throw new NotFoundException($"no export '{exportName}'");
}
