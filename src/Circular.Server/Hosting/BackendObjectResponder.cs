using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Backends;
using Microsoft.AspNetCore.Http;

namespace Circular.Server.Hosting;

/// <summary>
/// Serves an archive's objects from a backend that is not a directory (an S3 bucket behind `serve`): GET and HEAD of
/// every path <see cref="ObjectHandle.FromPath"/> knows, whole objects with the archive's Cache-Control (no validator
/// and no ranges: clients read archive objects whole, and immutable ones are never revalidated). Anything else is not
/// an archive object and gets 404, so writer state (.locks/) is never served.
/// </summary>
public static class BackendObjectResponder
{
    public static async Task ServeAsync(HttpContext ctx, IArchiveBackend backend)
    {
        var req = ctx.Request;
        var resp = ctx.Response;
        bool head = HttpMethods.IsHead(req.Method);
        if (!head && !HttpMethods.IsGet(req.Method))
        {
            resp.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (ObjectHandle.FromPath(req.Path.Value ?? "") is not { } handle)
        {
            resp.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        PooledObject? obj;
        try
        {
            obj = await backend.TryReadPooledAsync(handle, ReadHints.None, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (CircularException e) when (e.Kind is ErrorKind.Unavailable)
        {
            resp.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        if (obj is null)
        {
            resp.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        using (obj)
        {
            resp.StatusCode = StatusCodes.Status200OK;
            resp.ContentType = CachePolicy.ContentType(handle);
            resp.ContentLength = obj.Length;
            resp.Headers.CacheControl = CachePolicy.For(handle);
            resp.Headers.AcceptRanges = "none";
            if (head) return;
            await resp.Body.WriteAsync(obj.Data, ctx.RequestAborted).ConfigureAwait(false);
        }
    }
}
