using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Remote;
using Circular.Storage.Http;

namespace Circular.Client;

/// <summary>
/// What a front end serves from a SOURCE argument: an archive (directory or URL) through an <see cref="ArchiveClient"/>,
/// or, when a URL holds no archive (no circular.json there), the plain file at that URL read with range requests
/// (the seed's HTTPFS).
/// </summary>
public sealed class ImageSource : IAsyncDisposable
{
    private readonly HttpClient? _http;

    private ImageSource(IImageCatalog catalog, ArchiveClient? client, HttpClient? http)
    {
        Catalog = catalog;
        Client = client;
        _http = http;
    }

    public IImageCatalog Catalog { get; }
    /// <summary>The archive client, or null in plain range mode.</summary>
    public ArchiveClient? Client { get; }

    public static async Task<ImageSource> OpenAsync(ArchiveClientOptions options, CancellationToken ct)
    {
        if (await ArchiveClient.TryOpenAsync(options, ct).ConfigureAwait(false) is { } client)
            return new ImageSource(client.Catalog, client, null);
        string source = options.Location;
        if (!ArchiveLocation.IsUrl(source) || !Uri.TryCreate(source, UriKind.Absolute, out var url))
            throw new NotFoundException($"{source} is not a Circular archive (no circular.json; create one with 'circular init')");
        if (options.Measure is not null)
            throw new UsageException($"{source} is a plain image, not an archive: --measure needs an archive (its manifests are what a log is checked against)");
        if (options.HotData.RecordProfile is not null)
            throw new UsageException($"{source} is a plain image, not an archive: --record-profile needs an archive (profiles are stored with its versions)");
        var http = new HttpClient(HttpBackend.CreateHandler(new HttpBackendOptions { Timeout = options.Timeout })) { Timeout = Timeout.InfiniteTimeSpan };
        try
        {
            var image = await RangeHttpImage.OpenAsync(url, http, ArchiveClient.OpenCache(options), options.Timeout, ct).ConfigureAwait(false);
            return new ImageSource(new SingleImageCatalog(SingleImageCatalog.NameFor(url), image), null, http);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Client is not null) await Client.DisposeAsync().ConfigureAwait(false);
        _http?.Dispose();
    }
}
