using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Circular.Server.Images;

/// <summary>Chooses what to send for a GET with optional Range, If-Range and If-None-Match (RFC 9110 §14).</summary>
public static class ByteRanges
{
    /// <returns>Status code and the byte range to send.</returns>
    public static (int Status, long Start, long Length) Select(HttpRequest request, long size, EntityTagHeaderValue etag)
    {
        var h = request.GetTypedHeaders();
        if (h.IfNoneMatch is { Count: > 0 } inm && inm.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(etag, useStrongComparison: false)))
            return (StatusCodes.Status304NotModified, 0, 0);
        var range = h.Range;
        if (range is null || range.Unit != "bytes" || range.Ranges.Count != 1)
            return (StatusCodes.Status200OK, 0, size); // no range, or several: send it all, which is always allowed
        if (h.IfRange is { } ifRange && (ifRange.EntityTag is null || !ifRange.EntityTag.Compare(etag, useStrongComparison: true)))
            return (StatusCodes.Status200OK, 0, size);
        var r = range.Ranges.First();
        long start, end;
        if (r.From is long from)
        {
            start = from;
            end = r.To is long to ? Math.Min(to, size - 1) : size - 1;
        }
        else if (r.To is long suffix)
        {
            start = Math.Max(0, size - suffix);
            end = size - 1;
        }
        else return (StatusCodes.Status200OK, 0, size);
        if (start >= size || end < start) return (StatusCodes.Status416RangeNotSatisfiable, 0, 0);
        return (StatusCodes.Status206PartialContent, start, end - start + 1);
    }
}
