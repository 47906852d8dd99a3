using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Backends;

namespace Circular.S3;

/// <summary>
/// An archive in an S3 bucket (or any S3-compatible store): objects under the location's prefix, laid out exactly as
/// in a directory, so the same bucket read over plain HTTP (public, or through a CDN) is the same archive. Knows
/// objects and bytes only, like every backend; locks and conditional writes are <see cref="S3Store"/>'s.
/// </summary>
public sealed class S3Backend : IArchiveBackend, IDisposable
{
    private readonly IAmazonS3 _s3;

    public S3Backend(S3Location location, IAmazonS3 client)
    {
        Where = location;
        _s3 = client;
        // Over TLS the payload needs no signature of its own (the archive verifies every object by its hashes anyway);
        // plain http endpoints (S3-compatible stores on a LAN) require one.
        _unsignedPayload = client.Config.ServiceURL is not { } url || url.StartsWith("https:", StringComparison.OrdinalIgnoreCase);
    }

    private readonly bool _unsignedPayload;

    public S3Location Where { get; }
    public IAmazonS3 Client => _s3;
    public string Location => Where.ToString();
    public bool IsWritable => true;

    public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        using var pooled = await TryReadPooledAsync(handle, hints, ct).ConfigureAwait(false);
        return pooled?.ToBackendObject();
    }

    public async Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        var read = await TryGetAsync(handle, ct).ConfigureAwait(false);
        return read?.Body;
    }

    /// <summary>An object's bytes (pooled) and its ETag, or null when it does not exist.</summary>
    internal async Task<(PooledObject Body, string? ETag)?> TryGetAsync(ObjectHandle handle, CancellationToken ct)
    {
        string key = Where.Key(handle.Path);
        try
        {
            using var resp = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = Where.Bucket, Key = key }, ct).ConfigureAwait(false);
            long length = resp.ContentLength;
            if (length > handle.MaxLength)
                throw new ArchiveFormatException($"{Location}/{handle.Path} is {length} bytes, more than any valid {handle.Kind} object ({handle.MaxLength})");
            byte[] buf = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 0) + 1);
            int n = 0;
            try
            {
                while (true)
                {
                    if (n == buf.Length)
                    {
                        if (n >= handle.MaxLength)
                            throw new ArchiveFormatException($"{Location}/{handle.Path} is more than any valid {handle.Kind} object ({handle.MaxLength} bytes)");
                        byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(handle.MaxLength + 1, (long)buf.Length * 2));
                        buf.AsSpan(0, n).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buf);
                        buf = bigger;
                    }
                    int r = await resp.ResponseStream.ReadAsync(buf.AsMemory(n), ct).ConfigureAwait(false);
                    if (r == 0) break;
                    n += r;
                }
                return (PooledObject.FromRented(buf, n, $"{Location}/{handle.Path}"), resp.ETag);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buf);
                throw;
            }
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
        catch (Exception e) when (Translate(e, $"reading {handle.Path}") is { } mapped)
        {
            throw mapped;
        }
    }

    public async Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        await PutAsync(handle, data, ifMatch: null, ifNoneMatch: false, ct).ConfigureAwait(false);

    /// <summary>
    /// One PUT (atomic on S3: readers see the old object or the new one). With <paramref name="ifMatch"/> or
    /// <paramref name="ifNoneMatch"/> it is conditional. Returns the new object's ETag, or null when the condition failed.
    /// </summary>
    internal async Task<string?> PutAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, string? ifMatch, bool ifNoneMatch, CancellationToken ct)
    {
        var req = new PutObjectRequest {
            BucketName = Where.Bucket,
            Key = Where.Key(handle.Path),
            InputStream = AsStream(data),
            AutoCloseStream = true,
            ContentType = CachePolicy.ContentType(handle),
            DisablePayloadSigning = _unsignedPayload,
        };
        req.Headers.CacheControl = CachePolicy.For(handle);
        if (ifMatch is not null) req.IfMatch = ifMatch;
        if (ifNoneMatch) req.IfNoneMatch = "*";
        try
        {
            var resp = await _s3.PutObjectAsync(req, ct).ConfigureAwait(false);
            return resp.ETag ?? "";
        }
        catch (AmazonS3Exception e) when ((ifMatch is not null || ifNoneMatch) &&
            (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict || (ifMatch is not null && e.StatusCode == HttpStatusCode.NotFound)))
        {
            return null;
        }
        catch (Exception e) when (Translate(e, $"writing {handle.Path}") is { } mapped)
        {
            throw mapped;
        }
    }

    public async Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct)
    {
        try
        {
            await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Where.Bucket, Key = Where.Key(handle.Path) }, ct).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception e) when (Translate(e, $"looking up {handle.Path}") is { } mapped)
        {
            throw mapped;
        }
    }

    public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) =>
        ListPrefixAsync(ArchiveLayout.DirectoryOf(kind, image) + "/", ct);

    /// <summary>Every object whose archive-relative path starts with <paramref name="prefix"/>.</summary>
    public async IAsyncEnumerable<BackendEntry> ListPrefixAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        var req = new ListObjectsV2Request { BucketName = Where.Bucket, Prefix = Where.Key(prefix) };
        while (true)
        {
            ListObjectsV2Response resp;
            try
            {
                resp = await _s3.ListObjectsV2Async(req, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (Translate(e, $"listing {prefix}") is { } mapped)
            {
                throw mapped;
            }
            foreach (var o in resp.S3Objects ?? [])
                yield return new BackendEntry(Where.Relative(o.Key), o.Size ?? 0, o.LastModified?.ToUniversalTime() ?? DateTime.MinValue);
            if (resp.IsTruncated != true || string.IsNullOrEmpty(resp.NextContinuationToken)) yield break;
            req.ContinuationToken = resp.NextContinuationToken;
        }
    }

    public async Task DeleteAsync(string path, CancellationToken ct)
    {
        try
        {
            await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Where.Bucket, Key = Where.Key(path) }, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
        }
        catch (Exception e) when (Translate(e, $"deleting {path}") is { } mapped)
        {
            throw mapped;
        }
    }

    /// <summary>The SDK's failures as Circular's kinds (so exit codes and messages match the other backends); null: rethrow as is.</summary>
    private Exception? Translate(Exception e, string doing) => e switch {
        OperationCanceledException or CircularException => null,
        AmazonS3Exception { ErrorCode: "NoSuchBucket" } => new NotFoundException($"{Location}: no such bucket '{Where.Bucket}'"),
        AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized } s =>
            new CircularException($"{Location}: access denied {doing} ({s.ErrorCode}); check the credentials (AWS_ACCESS_KEY_ID, ~/.aws) and the bucket's policy"),
        AmazonS3Exception s => new BackendUnavailableException($"{Location}: {doing} failed: {s.StatusCode} {s.ErrorCode} {s.Message}", s),
        AmazonClientException c when c.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
            new UsageException($"{Location}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials); a public bucket can also be read over its http(s) URL"),
        AmazonClientException or HttpRequestException or IOException or TimeoutException =>
            new BackendUnavailableException($"{Location}: {doing} failed: {e.Message}", e),
        _ => null,
    };

    private static MemoryStream AsStream(ReadOnlyMemory<byte> data) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var seg)
            ? new MemoryStream(seg.Array!, seg.Offset, seg.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    public void Dispose() => _s3.Dispose();
}
