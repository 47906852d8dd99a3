using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Storage.Cache;
using Circular.Storage.Chunks;

namespace Circular.Imaging.Remote;

/// <summary>
/// The seed's HTTPFS: an ordinary file on any HTTP server (a Live CD ISO, a raw image) read as a block image
/// through range requests, block by block, with the same persistent cache and in-memory single-flight cache as
/// archive reads. The server's validator (ETag or Last-Modified) is part of the cache key, and every request
/// carries If-Range, so a file replaced on the server is never mixed with cached blocks of the old one.
/// </summary>
public static class RangeHttpImage
{
    public const int DefaultBlockSize = 256 * 1024;
    /// <summary>The largest plain image read in range mode: 4 TiB, a block list of 512 MiB at most.</summary>
    public const long MaxSize = 4L << 40;

    public static Task<ChunkedImage> OpenAsync(Uri url, HttpClient client, DiskCache? cache, TimeSpan timeout, CancellationToken ct) =>
        OpenAsync(url, client, cache, timeout, RangeBlockSource.RetryPause, ct);

    /// <param name="retryPause">The pause before a second attempt (twice that before a third); the fuzz target's is zero.</param>
    internal static async Task<ChunkedImage> OpenAsync(Uri url, HttpClient client, DiskCache? cache, TimeSpan timeout, TimeSpan retryPause, CancellationToken ct)
    {
        var info = await ProbeAsync(url, client, timeout, ct).ConfigureAwait(false);
        // The block list is held in memory (32 bytes a block): a server claiming an absurd size must not make us allocate it.
        if (info.Size > MaxSize)
            throw new CircularException($"{url} is {info.Size} bytes, more than the {ByteSize.Format(MaxSize)} a plain image may have here; import it into an archive");
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{url.AbsoluteUri}\n{info.Validator}\n{info.Size}")))[..32];
        long blocks = Manifest.BlockCount(info.Size, DefaultBlockSize);
        // Synthetic, non-zero block ids: they name cache entries, they are not content hashes. The block number is in
        // the id's last 8 bytes, so no index from id to block is kept.
        var ids = new ChunkId[blocks];
        Span<byte> seed = stackalloc byte[ChunkId.Size];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), seed);
        for (long i = 0; i < blocks; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(seed[24..], i);
            ids[i] = ChunkId.FromBytes(seed);
        }
        var meta = new ManifestMetadata { Image = Path.GetFileName(url.AbsolutePath), Version = 0, Created = info.LastModified ?? DateTimeOffset.UnixEpoch };
        var manifest = new Manifest(meta, DefaultBlockSize, info.Size, ids);
        var source = new RangeBlockSource(url, client, cache, key, info, DefaultBlockSize, timeout, retryPause);
        return new ChunkedImage(manifest, new MemoryChunkCache(source, DefaultBlockSize, 32L << 20), url.AbsoluteUri);
    }

    /// <summary>The block number a synthetic id of <see cref="OpenAsync"/> carries in its last 8 bytes.</summary>
    internal static long BlockOf(ChunkId id)
    {
        Span<byte> b = stackalloc byte[ChunkId.Size];
        id.WriteTo(b);
        return System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(b[24..]);
    }

    public sealed record RemoteFileInfo(long Size, string Validator, EntityTagHeaderValue? ETag, DateTimeOffset? LastModified);

    /// <summary>HEAD for the size and validator; the server must accept byte ranges.</summary>
    public static async Task<RemoteFileInfo> ProbeAsync(Uri url, HttpClient client, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        HttpResponseMessage resp;
        try
        {
            resp = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url), deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new CircularException($"cannot reach {url}: {Storage.Http.HttpErrors.Describe(e)}");
        }
        using (resp)
        {
            if (resp.StatusCode == HttpStatusCode.NotFound) throw new NotFoundException($"{url}: not found (HTTP 404)");
            if (!resp.IsSuccessStatusCode) throw new CircularException($"{url}: HTTP {(int)resp.StatusCode}");
            long size = resp.Content.Headers.ContentLength ?? throw new CircularException($"{url}: the server does not say the file's size (no Content-Length)");
            if (!resp.Headers.AcceptRanges.Contains("bytes"))
                throw new CircularException($"{url}: the server does not accept byte ranges (no 'Accept-Ranges: bytes'), so the file cannot be read on demand");
            var etag = resp.Headers.ETag;
            var lm = resp.Content.Headers.LastModified;
            return new RemoteFileInfo(size, etag?.Tag ?? lm?.ToString("R") ?? "", etag, lm);
        }
    }
}
