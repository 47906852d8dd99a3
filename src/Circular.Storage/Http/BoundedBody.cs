using System.Buffers;
using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Http;

/// <summary>A body longer than any valid object of its kind: the mirror is treated as failed.</summary>
public sealed class BodyTooLargeException(string message) : IOException(message);

/// <summary>
/// Reads a response body whole, but never more than the largest valid object of its kind (<see cref="ObjectHandle.MaxLength"/>):
/// a declared Content-Length above that is refused before a byte is read, and a body without one (chunked) is cut
/// off as soon as it passes the bound. A hostile or broken mirror can thus cost a client at most one object's worth
/// of memory per request.
/// </summary>
internal static class BoundedBody
{
    /// <summary>Bodies up to this size go into pooled buffers when asked (chunk files are about 4 MiB at most).</summary>
    private const int MaxPooled = 16 << 20;

    public static async Task<PooledObject> ReadAsync(HttpContent content, string source, ObjectHandle handle, bool pooled, CancellationToken ct)
    {
        long max = handle.MaxLength;
        long? declared = content.Headers.ContentLength;
        if (declared > max) throw TooLarge(source, handle, $"declares a {declared}-byte body, more");
        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            if (declared is long length) return await ReadExactAsync(stream, (int)length, source, handle, pooled, ct).ConfigureAwait(false);
            return await ReadUnknownAsync(stream, max, source, handle, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A declared length: one buffer of exactly that size; a body that is shorter or longer is an error.</summary>
    private static async Task<PooledObject> ReadExactAsync(Stream stream, int length, string source, ObjectHandle handle, bool pooled, CancellationToken ct)
    {
        bool rent = pooled && length <= MaxPooled;
        byte[] buf = rent ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);
        try
        {
            int n = await stream.ReadAtLeastAsync(buf.AsMemory(0, length), length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            if (n != length) throw new IOException($"body of {handle.Path} truncated ({n} of {length} bytes)");
            return rent ? PooledObject.FromRented(buf, n, source) : PooledObject.Wrap(new BackendObject(buf, source));
        }
        catch
        {
            if (rent) ArrayPool<byte>.Shared.Return(buf);
            throw;
        }
    }

    /// <summary>No declared length: grow a buffer, but stop the transfer the moment it passes <paramref name="max"/>.</summary>
    private static async Task<PooledObject> ReadUnknownAsync(Stream stream, long max, string source, ObjectHandle handle, CancellationToken ct)
    {
        byte[] buf = new byte[(int)Math.Min(max + 1, 64 << 10)];
        int n = 0;
        while (true)
        {
            if (n == buf.Length)
            {
                if (n > max) throw TooLarge(source, handle, "sent a body longer");
                Array.Resize(ref buf, (int)Math.Min((long)buf.Length * 2, max + 1));
            }
            int r = await stream.ReadAsync(buf.AsMemory(n), ct).ConfigureAwait(false);
            if (r == 0) break;
            n += r;
        }
        if (n > max) throw TooLarge(source, handle, "sent a body longer");
        return PooledObject.Wrap(new BackendObject(n == buf.Length ? buf : buf[..n], source));
    }

    private static BodyTooLargeException TooLarge(string source, ObjectHandle handle, string what) =>
        new($"{source} {what} than the largest valid {Describe(handle.Kind)} ({handle.MaxLength} bytes); transfer aborted");


    private static string Describe(ObjectKind kind) => kind switch {
        ObjectKind.Chunk => "chunk file",
        ObjectKind.Pack => "pack file",
        ObjectKind.Refs => "refs file",
        ObjectKind.ImageIndex => "image index",
        ObjectKind.PackIndex => "pack index",
        ObjectKind.ManifestPatch => "manifest patch",
        ObjectKind.PublicKey => "public key",
        ObjectKind.KeyList => "key list",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
