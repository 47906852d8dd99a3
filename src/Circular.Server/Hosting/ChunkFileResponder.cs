using Circular.Core.Archive;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Circular.Server.Hosting;

/// <summary>
/// Answers plain GET and HEAD requests for chunk files, nearly every request a reading client makes, without the
/// static-file middleware: one open, reads straight into the response pipe and one flush, where the middleware
/// took several stats, a FileStream and 64 KiB copies through a thread-pool read per request (its per-request CPU
/// competed with the client for the same cores on loopback). Headers are the middleware's own, validator included,
/// so a client cannot tell which path answered. Anything else (ranges, conditional requests, a missing file) is left
/// to the middleware.
/// </summary>
public static class ChunkFileResponder
{
    /// <summary>Larger files go through the middleware (chunk files are at most about 4 MiB).</summary>
    private const long MaxLength = 16 << 20;

    /// <summary>Bytes read into the response pipe at a time: below the large-object threshold (85,000 bytes).</summary>
    private const int Piece = 64 << 10;

    /// <summary>Serves the request if it is a plain read of an existing chunk file; false leaves it to the next handler.</summary>
    public static async Task<bool> TryServeAsync(HttpContext ctx, string root)
    {
        var req = ctx.Request;
        bool head = HttpMethods.IsHead(req.Method);
        if (!head && !HttpMethods.IsGet(req.Method)) return false;
        string? path = req.Path.Value;
        if (path is null || ObjectHandle.FromPath(path) is not { Kind: ObjectKind.Chunk }) return false;
        var h = req.Headers;
        if (h.Range.Count > 0 || h.IfMatch.Count > 0 || h.IfNoneMatch.Count > 0 || h.IfModifiedSince.Count > 0 ||
            h.IfUnmodifiedSince.Count > 0 || h.IfRange.Count > 0)
            return false;

        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try { handle = File.OpenHandle(root + path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException) { return false; }
        using (handle)
        {
            long length = RandomAccess.GetLength(handle);
            if (length > MaxLength) return false;
            var resp = ctx.Response;
            var (lastModified, etag) = Validators(File.GetLastWriteTimeUtc(handle), length);
            resp.StatusCode = StatusCodes.Status200OK;
            resp.ContentType = "application/octet-stream";
            resp.ContentLength = length;
            resp.Headers.LastModified = HeaderUtilities.FormatDate(lastModified);
            resp.Headers.ETag = etag;
            resp.Headers.AcceptRanges = "bytes";
            resp.Headers.CacheControl = ArchiveServer.ImmutableCacheControl;
            if (head || length == 0) return true;

            // Headers first: body memory asked for before the response starts is a separate lease that Kestrel copies
            // behind the headers once they are written (7% of serve's CPU in a cold read); after the start it is the
            // connection's own output buffer.
            await resp.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
            var writer = resp.BodyWriter;
            for (long offset = 0; offset < length;)
            {
                // 64 KiB pieces: the pipe rents a larger request from the shared array pool as a large-object array,
                // and with 800 slow connections serve held 470-660 MB of them that no GC gave back; a piece this size
                // is a small-object array, reclaimed by the young-generation collections that traffic runs anyway.
                // One flush at the end, as before: a flush per piece waited for the socket each time (20% slower).
                int n = (int)Math.Min(Piece, length - offset);
                var memory = writer.GetMemory(n)[..n];
                if (Storage.Posix.PositionalRead.Fully(handle, memory.Span, offset) != n)
                    throw new IOException($"{path} shrank while it was being served"); // aborts the response
                writer.Advance(n);
                offset += n;
            }
            await writer.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>
    /// Last-Modified and ETag exactly as the static-file middleware derives them (time truncated to the second,
    /// ETag = hex of its file time XOR the length), so validators agree whichever path served a file.
    /// </summary>
    public static (DateTimeOffset LastModified, string ETag) Validators(DateTime lastWriteUtc, long length)
    {
        var last = new DateTimeOffset(lastWriteUtc, TimeSpan.Zero);
        var truncated = new DateTimeOffset(last.Year, last.Month, last.Day, last.Hour, last.Minute, last.Second, last.Offset).ToUniversalTime();
        long hash = truncated.ToFileTime() ^ length;
        return (truncated, "\"" + Convert.ToString(hash, 16) + "\"");
    }
}
