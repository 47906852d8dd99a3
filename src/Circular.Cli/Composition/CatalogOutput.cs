using System.Text.Json;
using Circular.Core.Errors;
using Circular.Storage.Archive;
#if !GUEST
using Circular.Server.Catalog;
#endif

namespace Circular.Cli.Composition;

/// <summary>`images --json` and `log --json`: the catalog's JSON (docs/catalog.md), printed.</summary>
public static class CatalogOutput
{
    /// <summary>`log --json` puts every version on one page.</summary>
    private const int AllOnOnePage = 1 << 24;

#if GUEST
    public static Task PrintImagesAsync(ArchiveReader reader, CancellationToken ct) => throw NotHere();

    public static Task PrintImageAsync(ArchiveReader reader, string image, CancellationToken ct) => throw NotHere();

    private static UsageException NotHere() => new("--json is not in the in-guest build of circular");
#else
    public static async Task PrintImagesAsync(ArchiveReader reader, CancellationToken ct)
    {
        var images = await new CatalogReader(reader).ImagesAsync(ct).ConfigureAwait(false);
        System.Console.WriteLine(JsonSerializer.Serialize(images, CatalogJson.Default.ListCatalogImage));
    }

    public static async Task PrintImageAsync(ArchiveReader reader, string image, CancellationToken ct)
    {
        var detail = await new CatalogReader(reader).ImageAsync(image, 1, AllOnOnePage, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"no image '{image}' in {reader.Backend.Location}");
        System.Console.WriteLine(JsonSerializer.Serialize(detail, CatalogJson.Default.CatalogImageDetail));
    }
#endif
}
