using Circular.Imaging.Catalog;
using Circular.Imaging.Images;
using Circular.Nbd;

namespace Circular.Fuzz;

/// <summary>
/// A whole NBD session: the input is everything a client sends (handshake options, then transmission requests), fed
/// to the real server over an in-memory stream, against a small writable image. The server may end the session at
/// any point (that is how it rejects bad input); it must neither throw out of the connection handler nor hang.
/// </summary>
internal static class NbdSession
{
    private static readonly string s_image = CreateImage();

    private static string CreateImage()
    {
        string path = Path.Combine(Path.GetTempPath(), $"circular-fuzz-nbd-{Environment.ProcessId}.img");
        using (var f = File.Create(path)) f.SetLength(1 << 20);
        return path;
    }

    public static void Run(byte[] input)
    {
        var image = LocalImageFile.Open(s_image);
        try
        {
            Serve(image, input);
        }
        finally
        {
            image.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Serve(LocalImageFile image, byte[] input)
    {
        var server = new NbdServer(new SingleImageCatalog("disk", image));
        using var stream = new ScriptedClientStream(input);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var session = server.HandleConnectionAsync(stream, deadline.Token);
        if (!session.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("the NBD session did not end after its input did");
    }

    /// <summary>Reads give the scripted input, then end of stream; writes (the server's replies) are counted and dropped.</summary>
    private sealed class ScriptedClientStream(byte[] input) : Stream
    {
        private int _position;
        private long _written;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, input.Length - _position);
            input.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => ValueTask.FromResult(Read(buffer.Span));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => Task.FromResult(Read(buffer, offset, count));

        public override void Write(byte[] buffer, int offset, int count) => Add(count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            Add(buffer.Length);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
        {
            Add(count);
            return Task.CompletedTask;
        }

        /// <summary>A server that answers without bound to bounded input is a defect too.</summary>
        private void Add(long n)
        {
            _written += n;
            if (_written > (256L << 20)) throw new InvalidOperationException($"the server wrote {_written} bytes in answer to {input.Length}");
        }

        public override void Flush() { }
        public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
