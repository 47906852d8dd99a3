using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Remote;
using Circular.Storage.Http;

namespace Circular.Cli.Composition;

/// <summary>
/// Opens what a front end serves from a SOURCE argument: an archive (directory or URL) as an ArchiveCatalog, or,
/// when a URL is not an archive, the plain file at that URL in range mode.
/// </summary>
public sealed class CatalogSource : IAsyncDisposable
{
    private readonly IAsyncDisposable? _owned;
    private readonly HttpClient? _http;

    private CatalogSource(IImageCatalog catalog, ClientStack? stack, IAsyncDisposable? owned, HttpClient? http)
    {
        Catalog = catalog;
        Stack = stack;
        _owned = owned;
        _http = http;
    }

    public IImageCatalog Catalog { get; }
    /// <summary>The archive read stack, or null in plain range mode.</summary>
    public ClientStack? Stack { get; }

    public static async Task<CatalogSource> OpenAsync(string source, ClientSettings settings, string? overlayRoot, CancellationToken ct)
    {
        ClientStack stack;
        try
        {
            stack = await ClientStack.OpenAsync(source, settings, ct).ConfigureAwait(false);
        }
        catch (NotFoundException) when (ClientStack.IsUrl(source) && Uri.TryCreate(source, UriKind.Absolute, out var url))
        {
            // Not an archive: serve the file itself through range requests (the seed's HTTPFS).
            var http = new HttpClient(HttpBackend.CreateHandler(new HttpBackendOptions { Timeout = settings.Timeout })) { Timeout = Timeout.InfiniteTimeSpan };
            var image = await RangeHttpImage.OpenAsync(url, http, ClientStack.OpenCache(settings), settings.Timeout, ct).ConfigureAwait(false);
            return new CatalogSource(new SingleImageCatalog(SingleImageCatalog.NameFor(url), image), null, null, http);
        }
        var catalog = new ArchiveCatalog(stack.Reader, stack.Chunks, overlayRoot);
        return new CatalogSource(catalog, stack, catalog, null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned is not null) await _owned.DisposeAsync().ConfigureAwait(false);
        if (Stack is not null) await Stack.DisposeAsync().ConfigureAwait(false);
        _http?.Dispose();
    }
}
