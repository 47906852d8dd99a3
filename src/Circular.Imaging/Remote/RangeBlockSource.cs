using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Cache;
using Circular.Storage.Chunks;

namespace Circular.Imaging.Remote;

/// <summary>
/// Fetches fixed blocks of a remote file with range requests, through the disk cache. Cached blocks carry a
/// SHA-256 trailer so a damaged cache file is noticed and fetched again.
/// </summary>
internal sealed class RangeBlockSource(
    Uri url, HttpClient client, DiskCache? cache, string key,
    RangeHttpImage.RemoteFileInfo info, int blockSize, TimeSpan timeout, TimeSpan retryPause) : IChunkSource
{
    private const int Attempts = 3;
    public static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    public async ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
    {
        long block = RangeHttpImage.BlockOf(chunk.Id);
        long start = block * blockSize;
        int len = (int)Math.Min(blockSize, info.Size - start);
        string rel = $"ranges/{key[..2]}/{key}/{block}";
        if (cache?.TryReadChunk(rel) is { } hit && hit.Length == len + 32 &&
            SHA256.HashData(hit.AsSpan(0, len)).AsSpan().SequenceEqual(hit.AsSpan(len)))
        {
            hit.AsSpan(0, len).CopyTo(destination.Span);
            return len;
        }
        await FetchAsync(start, destination[..len], ct).ConfigureAwait(false);
        if (cache is not null)
        {
            var file = new byte[len + 32];
            destination.Span[..len].CopyTo(file);
            SHA256.HashData(file.AsSpan(0, len), file.AsSpan(len));
            cache.StoreChunk(rel, file);
        }
        return len;
    }

    private async Task FetchAsync(long start, Memory<byte> dest, CancellationToken ct)
    {
        Exception? last = null;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            if (attempt > 0) await Task.Delay(retryPause * attempt, ct).ConfigureAwait(false);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            try
            {
                using var req = new HttpRequestMessage(HttpMethod.Get, url);
                req.Headers.Range = new RangeHeaderValue(start, start + dest.Length - 1);
                if (info.ETag is { IsWeak: false } etag) req.Headers.IfRange = new RangeConditionHeaderValue(etag);
                else if (info.LastModified is { } lm) req.Headers.IfRange = new RangeConditionHeaderValue(lm);
                using var resp = await client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
                if (resp.StatusCode == HttpStatusCode.OK)
                    throw new CircularException($"{url} changed on the server while being read (or ignores ranges); start again");
                if (resp.StatusCode != HttpStatusCode.PartialContent)
                {
                    last = new IOException($"{url}: HTTP {(int)resp.StatusCode} for bytes {start}-{start + dest.Length - 1}");
                    continue;
                }
                var cr = resp.Content.Headers.ContentRange;
                if (cr is null || cr.From != start || cr.To != start + dest.Length - 1)
                    throw new CircularException($"{url}: the server answered a different range ({cr}) than asked");
                await using var body = await resp.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
                int got = await body.ReadAtLeastAsync(dest, dest.Length, throwOnEndOfStream: false, deadline.Token).ConfigureAwait(false);
                if (got != dest.Length) { last = new IOException($"{url}: body truncated ({got} of {dest.Length} bytes)"); continue; }
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                last = new TimeoutException($"{url}: no answer within {timeout.TotalSeconds:0.#} s");
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                last = e;
            }
        }
        throw new CircularException($"cannot read bytes {start}-{start + dest.Length - 1} of {url}: {last?.Message}");
    }
}
