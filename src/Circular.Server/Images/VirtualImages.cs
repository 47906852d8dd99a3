using System.Collections.Concurrent;
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
using Microsoft.Net.Http.Headers;

namespace Circular.Server.Images;

/// <summary>
/// Whole image versions as byte-range files reconstructed from chunks on the fly, for clients that know
/// nothing of Circular: QEMU's curl driver, nbdkit's curl plugin, iPXE sanboot, browsers.
/// </summary>
public sealed class VirtualImages
{
    private readonly IChunkSource _chunks;
    private readonly ConcurrentDictionary<string, Manifest> _manifests = new(StringComparer.Ordinal);

    private VirtualImages(ArchiveReader reader)
    {
        Reader = reader;
        _chunks = new MemoryChunkCache(new BackendChunkSource(reader.Backend), ChunkSizes.Max, 128L << 20);
    }

    public ArchiveReader Reader { get; }

    public static async Task<VirtualImages> OpenAsync(string root, CancellationToken ct) =>
        new(await ArchiveReader.OpenAsync(new FileBackend(root), ct).ConfigureAwait(false));

    public async Task ServeAsync(HttpContext ctx, string name, string selector, CancellationToken ct)
    {
        Circular.Core.Refs.VersionEntry entry;
        Manifest manifest;
        try
        {
            var spec = ImageSpec.Parse($"{name}@{selector}");
            var refs = await Reader.GetRefsAsync(spec.Name, ct).ConfigureAwait(false);
            entry = ArchiveReader.Resolve(refs, spec);
            manifest = _manifests.TryGetValue(entry.ManifestDigest, out var m) ? m
                : _manifests[entry.ManifestDigest] = await Reader.GetManifestAsync(spec.Name, entry, ct).ConfigureAwait(false);
        }
        catch (CircularException e) when (e is NotFoundException or UsageException)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            await ctx.Response.WriteAsync(e.Message + "\n", ct).ConfigureAwait(false);
            return;
        }
        var image = new ChunkedImage(manifest, _chunks, $"{name}@{entry.Version}");
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
