using System.Buffers;
using Circular.Core.Archive;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Circular.Server.Hosting;

/// <summary>
/// Answers plain GET and HEAD requests for chunk files, nearly every request a reading client makes, without the
/// static-file middleware: one open, one read, a copy into the response pipe and one flush, where the middleware
/// took several stats, a FileStream and 64 KiB copies through a thread-pool read per request (its per-request CPU
/// competed with the client for the same cores on loopback). Headers are the middleware's own, validator included,
/// so a client cannot tell which path answered. Anything else (ranges, conditional requests, a missing file) is left
/// to the middleware.
/// </summary>
public static class ChunkFileResponder
{
    /// <summary>Larger files go through the middleware (chunk files are at most about 4 MiB).</summary>
    private const long MaxLength = 16 << 20;

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

            // One read into a pooled buffer, then a copy into the pipe's own pooled 4 KiB blocks. Asking the pipe for
            // the file's length in one piece made it allocate that much (a large-object array per response: 470-660 MB
            // kept after 800 connections); 64 KiB pieces were fresh arrays too, and the collections and page faults
            // they caused were a third of serve's CPU. The copy costs less than either. The read comes before the
            // headers, so a file the disk cannot read (EIO) is a clean 500, not a 200 cut short.
            byte[] buffer = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                int got;
                try { got = Storage.Posix.PositionalRead.Fully(handle, buffer.AsSpan(0, (int)length), 0); }
                catch (IOException) { got = -1; }
                if (got != length)
                {
                    resp.Headers.Clear();
                    resp.StatusCode = StatusCodes.Status500InternalServerError;
                    resp.ContentLength = 0;
                    return true;
                }
                // Headers, then the body written into the connection's own output buffer (body memory asked for
                // before the response starts is a separate lease Kestrel copies behind the headers: 7% of serve's CPU).
                await resp.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
                resp.BodyWriter.Write(buffer.AsSpan(0, (int)length));
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
            await resp.BodyWriter.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
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
