using Circular.Server.Images;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Circular.Fuzz;

/// <summary>
/// serve's Range and conditional headers: the input's lines are request headers (Range, If-Range, If-None-Match...)
/// of a GET for a 1 MiB object; the answer must be a valid status with a range inside the object.
/// </summary>
internal static class RangeHeaders
{
    private const long Size = 1 << 20;
    private static readonly EntityTagHeaderValue s_etag = new("\"abc\"");

    public static void Run(byte[] input)
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.Method = "GET";
        foreach (var line in System.Text.Encoding.Latin1.GetString(input).Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string name = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 127)) continue;
            ctx.Request.Headers.Append(name, value);
        }
        var (status, start, length) = ByteRanges.Select(ctx.Request, Size, s_etag);
        bool ok = status switch {
            200 => start == 0 && length == Size,
            206 => start >= 0 && length > 0 && start + length <= Size,
            304 or 412 or 416 => true,
            _ => false,
        };
        if (!ok) throw new InvalidOperationException($"ByteRanges.Select gave status {status}, range {start}+{length} for a {Size}-byte object");
    }
}
