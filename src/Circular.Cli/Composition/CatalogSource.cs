using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.HotData;
using Circular.Imaging.Remote;
using Circular.Storage.Chunks;
using Circular.Storage.Http;
using Circular.Storage.Trust;

namespace Circular.Cli.Composition;

/// <summary>
/// Opens what a front end serves from a SOURCE argument: an archive (directory or URL) as an ArchiveCatalog, or,
/// when a URL is not an archive, the plain file at that URL in range mode.
/// </summary>
public sealed class CatalogSource : IAsyncDisposable
{
    private readonly IAsyncDisposable? _owned;
    private readonly HttpClient? _http;

    private CatalogSource(IImageCatalog catalog, ClientStack? stack, IAsyncDisposable? owned, HttpClient? http, IChunkSource? chunks = null)
    {
        Chunks = chunks;
        Catalog = catalog;
        Stack = stack;
        _owned = owned;
        _http = http;
    }

    public IImageCatalog Catalog { get; }
    /// <summary>The archive read stack, or null in plain range mode.</summary>
    public ClientStack? Stack { get; }
    /// <summary>What the catalog reads chunks from (measured when a measurement log is given); null in range mode.</summary>
    public IChunkSource? Chunks { get; }

    /// <param name="measure">When given, every export's manifest and every chunk served is measured into it.</param>
    /// <param name="hot">Profiles, packs and prefetching (null: the defaults, prefetch and packs on, no recording).</param>
    public static async Task<CatalogSource> OpenAsync(string source, ClientSettings settings, string? overlayRoot, CancellationToken ct,
        MeasurementLog? measure = null, HotDataOptions? hot = null)
    {
        hot ??= new HotDataOptions { Log = System.Console.Error };
        ClientStack stack;
        try
        {
            stack = await ClientStack.OpenAsync(source, settings, ct).ConfigureAwait(false);
        }
        catch (NotFoundException) when (ClientStack.IsUrl(source) && Uri.TryCreate(source, UriKind.Absolute, out var url))
        {
            if (measure is not null) throw new UsageException($"{source} is a plain image, not an archive: --measure needs an archive (its manifests are what a log is checked against)");
            if (hot.RecordProfile is not null) throw new UsageException($"{source} is a plain image, not an archive: --record-profile needs an archive (profiles are stored with its versions)");
            // Not an archive: serve the file itself through range requests (the seed's HTTPFS).
            var http = new HttpClient(HttpBackend.CreateHandler(new HttpBackendOptions { Timeout = settings.Timeout })) { Timeout = Timeout.InfiniteTimeSpan };
            var image = await RangeHttpImage.OpenAsync(url, http, ClientStack.OpenCache(settings), settings.Timeout, ct).ConfigureAwait(false);
            return new CatalogSource(new SingleImageCatalog(SingleImageCatalog.NameFor(url), image), null, null, http);
        }
        IChunkSource chunks = measure is null ? stack.Chunks : new MeasuringChunkSource(stack.Chunks, measure);
        // Pack reads bypass the chunk source, so a measured run reads whole chunks: every byte served is then in the log.
        if (measure is not null) hot = hot with { Packs = false };
        var catalog = new ArchiveCatalog(stack.Reader, chunks, overlayRoot, new HotDataLayer(stack.Reader, chunks, hot));
        IImageCatalog served = measure is null ? catalog : new MeasuringCatalog(catalog, stack.Reader, measure);
        return new CatalogSource(served, stack, catalog, null, chunks);
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned is not null) await _owned.DisposeAsync().ConfigureAwait(false);
        if (Stack is not null) await Stack.DisposeAsync().ConfigureAwait(false);
        _http?.Dispose();
    }
}
