using System.Net;
using System.Net.Http.Headers;
using Circular.Core.Errors;
using Circular.Imaging.Remote;

namespace Circular.Fuzz;

/// <summary>
/// The client of range mode (a plain image read through HTTP range requests) against a server whose answers the
/// input makes up: the HEAD's status, size and validators, then each GET's status, Content-Range and body. Opening
/// the image and reading three ranges of it must end in the bytes or a <see cref="CircularException"/>, in bounded
/// time and memory, and bytes returned must be the ones the server sent for exactly that range.
/// </summary>
internal static class RangeResponses
{
    private static readonly HttpStatusCode[] s_statuses =
        [HttpStatusCode.OK, HttpStatusCode.PartialContent, HttpStatusCode.NotFound, HttpStatusCode.InternalServerError,
         HttpStatusCode.MovedPermanently, HttpStatusCode.RequestedRangeNotSatisfiable, HttpStatusCode.NoContent];

    /// <summary>The byte an honest server holds at <paramref name="offset"/>.</summary>
    private static byte At(long offset) => (byte)(offset * 31 + (offset >> 12));

    public static void Run(byte[] input)
    {
        var script = new Script(input);
        using var client = new HttpClient(new ScriptedServer(script)) { Timeout = Timeout.InfiniteTimeSpan };
        var url = new Uri("http://fuzz.invalid/disk.img");
        try
        {
            var image = RangeHttpImage.OpenAsync(url, client, null, TimeSpan.FromSeconds(5), TimeSpan.Zero, CancellationToken.None).GetAwaiter().GetResult();
            for (int i = 0; i < 3; i++)
            {
                long offset = image.Size == 0 ? 0 : (long)(script.Next64() % (ulong)image.Size);
                int length = (int)Math.Min(1 + script.Next() * 97, image.Size - offset);
                if (length <= 0) continue;
                byte[] buffer = new byte[length];
                image.ReadAsync(offset, buffer, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                for (int k = 0; k < length; k++)
                    if (buffer[k] != script.Sent(offset + k))
                        throw new InvalidDataException($"byte {offset + k} reads {buffer[k]}, the server sent {script.Sent(offset + k)}");
            }
        }
        catch (CircularException) { }
    }

    /// <summary>The input, read a byte at a time as the server's choices; zeros once it runs out.</summary>
    private sealed class Script(byte[] input)
    {
        private int _at;
        private readonly Dictionary<long, byte> _sent = [];

        public int Next() => _at < input.Length ? input[_at++] : 0;
        public ulong Next64()
        {
            ulong v = 0;
            for (int i = 0; i < 8; i++) v = v << 8 | (uint)Next();
            return v;
        }

        /// <summary>Remembers what the server sent for a byte (a later answer for the same byte replaces it).</summary>
        public void Record(long offset, byte value) => _sent[offset] = value;
        public byte Sent(long offset) => _sent.TryGetValue(offset, out byte b) ? b : At(offset);
    }

    private sealed class ScriptedServer(Script script) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            Task.FromResult(request.Method == HttpMethod.Head ? Head() : Get(request));

        private HttpResponseMessage Head()
        {
            var resp = new HttpResponseMessage(s_statuses[script.Next() % s_statuses.Length]) { Content = new ByteArrayContent([]) };
            int flags = script.Next();
            // Sizes up to 16 MiB, or an absurd one the client must refuse before allocating its block list.
            long size = (flags & 0x80) != 0 ? long.MaxValue - script.Next() : script.Next() << 16 | script.Next() << 8 | script.Next();
            if ((flags & 1) != 0) resp.Content.Headers.ContentLength = size;
            else resp.Content.Headers.ContentLength = null;
            if ((flags & 2) != 0) resp.Headers.AcceptRanges.Add("bytes");
            if ((flags & 4) != 0) resp.Headers.ETag = new EntityTagHeaderValue("\"v1\"", isWeak: (flags & 8) != 0);
            if ((flags & 16) != 0) resp.Content.Headers.LastModified = DateTimeOffset.UnixEpoch.AddSeconds(script.Next());
            return resp;
        }

        private HttpResponseMessage Get(HttpRequestMessage request)
        {
            var range = request.Headers.Range?.Ranges.FirstOrDefault();
            long from = range?.From ?? 0, to = range?.To ?? from;
            var status = s_statuses[script.Next() % s_statuses.Length];
            int mode = script.Next();
            // The Content-Range the server claims: right, shifted, cut short, or missing.
            long claimFrom = from + (mode & 3) switch { 1 => 1, 2 => -1, _ => 0 };
            long claimTo = to - ((mode >> 2) & 3) switch { 1 => 1, 2 => -4096, _ => 0 };
            // The body: the claimed length, shorter, longer; honest bytes or made up.
            long length = Math.Max(0, claimTo - claimFrom + 1);
            length = ((mode >> 4) & 3) switch { 1 => length / 2, 2 => length + 7, _ => length };
            length = Math.Min(length, 4 << 20);
            bool madeUp = (mode & 64) != 0;
            var body = new byte[length];
            for (long i = 0; i < length; i++)
            {
                body[i] = madeUp ? (byte)script.Next() : At(claimFrom + i);
                // A part the server claims (and sends in full) is what the client may return for those offsets.
                long at = claimFrom + i;
                if (status == HttpStatusCode.PartialContent && at >= from && at <= to) script.Record(at, body[i]);
            }
            var resp = new HttpResponseMessage(status) { Content = new ByteArrayContent(body) };
            if ((mode & 128) == 0 && claimFrom >= 0 && claimTo >= claimFrom)
                resp.Content.Headers.ContentRange = new ContentRangeHeaderValue(claimFrom, claimTo);
            return resp;
        }
    }
}
