using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Server.Hosting;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Chunks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Circular.Server.Images;

/// <summary>
/// Whole image versions as byte-range files reconstructed from chunks on the fly, for clients that know
/// nothing of Circular: QEMU's curl driver, nbdkit's curl plugin, iPXE sanboot, browsers.
/// </summary>
public sealed class VirtualImages(ArchiveClient client) : IAsyncDisposable
{
    public ArchiveReader Reader => client.Reader;
    public ArchiveClient Client => client;

    /// <summary>
    /// The origin's own archive: no signature checks (it is where signatures come from), and refs read afresh for every
    /// request, so latest.img follows a push at once, as the static refs.json does.
    /// </summary>
    public static async Task<VirtualImages> OpenAsync(string root, Storage.Backends.IArchiveBackend? backend, ILogger log, CancellationToken ct) =>
        new(await ArchiveClient.OpenAsync(new ArchiveClientOptions {
            Location = root,
            Backend = backend,
            DiscoverMirrors = false,
            Trust = TrustOptions.None,
            MetadataMaxAge = TimeSpan.Zero,
            MemoryCacheBytes = 128L << 20,
            Log = log,
        }, ct).ConfigureAwait(false));

    public ValueTask DisposeAsync() => client.DisposeAsync();

    public async Task ServeAsync(HttpContext ctx, string name, string selector, CancellationToken ct)
    {
        ResolvedVersion version;
        try
        {
            version = await client.OpenVersionAsync(ImageSpec.Parse($"{name}@{selector}"), ct).ConfigureAwait(false);
        }
        catch (CircularException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.Usage)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            await ctx.Response.WriteAsync(e.Message + "\n", ct).ConfigureAwait(false);
            return;
        }
        var entry = version.Entry;
        var image = new ChunkedImage(version.Manifest, client.Chunks, version.Name);
        var headers = ctx.Response.GetTypedHeaders();
        var etag = new EntityTagHeaderValue($"\"{entry.ManifestDigest}\"");
        headers.ETag = etag;
        headers.LastModified = entry.Created;
        ctx.Response.Headers.AcceptRanges = "bytes";
        ctx.Response.Headers.CacheControl = int.TryParse(selector, out _) ? ArchiveServer.ImmutableCacheControl : ArchiveServer.ShortCacheControl;
        ctx.Response.ContentType = "application/octet-stream";

        var (status, start, length) = ByteRanges.Select(ctx.Request, image.Size, etag);
        ctx.Response.StatusCode = status;
        if (status == StatusCodes.Status416RangeNotSatisfiable)
        {
            ctx.Response.Headers.ContentRange = $"bytes */{image.Size}";
            return;
        }
        if (status == StatusCodes.Status304NotModified) return;
        if (status == StatusCodes.Status206PartialContent)
            ctx.Response.Headers.ContentRange = $"bytes {start}-{start + length - 1}/{image.Size}";
        ctx.Response.ContentLength = length;
        if (HttpMethods.IsHead(ctx.Request.Method) || length == 0) return;
        await ImageCopy.ToStreamAsync(image, start, length, ctx.Response.Body, 8, ct).ConfigureAwait(false);
    }
}
