using System.IO.Pipelines;
using Circular.Imaging.Catalog;

namespace Circular.Nbd;

/// <summary>
/// An NBD server (fixed newstyle) serving the exports of an <see cref="IImageCatalog"/>: qemu, qemu-img,
/// nbdinfo, nbdcopy and the kernel client connect to it. Listen with <see cref="ServeAsync"/>, or hand it
/// already-connected streams with <see cref="HandleConnectionAsync"/>.
/// </summary>
public sealed partial class NbdServer
{
    private readonly IImageCatalog _catalog;
    private readonly NbdServerOptions _options;

    public NbdServer(IImageCatalog catalog, NbdServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
        _options = options ?? new NbdServerOptions();
        _options.Validate();
    }

    public NbdServerOptions Options => _options;

    /// <summary>
    /// Serves one client on a connected duplex stream (a socket, or an in-memory pipe in tests) until it
    /// disconnects or <paramref name="ct"/> is cancelled, then disposes the stream. Never throws for anything
    /// the client does: protocol violations and I/O failures are logged as one line and end the connection.
    /// </summary>
    public Task HandleConnectionAsync(Stream stream, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return HandleConnectionAsync(stream, "client", ct);
    }

    private Task HandleConnectionAsync(Stream stream, string peer, CancellationToken ct) =>
        RunConnectionAsync(stream, peer, (reader, writer, token) => new Handshake(reader, writer, _catalog, _options, peer).RunAsync(token), ct);

    /// <summary>
    /// Serves the transmission phase of an export already chosen, with no handshake: what the kernel's own client does
    /// after NBD_SET_SOCK (simple replies only; <see cref="KernelFlags"/> are the flags to give it with NBD_SET_FLAGS).
    /// Disposes <paramref name="image"/> and the stream when the client disconnects or <paramref name="ct"/> is cancelled.
    /// </summary>
    public Task ServeExportAsync(Stream stream, string name, Imaging.Images.IBlockImage image, CancellationToken ct)
    {
        var export = new NegotiatedExport(name, image, NegotiatedExport.FlagsFor(image, structuredReplies: false), structuredReplies: false, baseAllocation: false);
        return RunConnectionAsync(stream, "kernel", (_, _, _) => Task.FromResult<NegotiatedExport?>(export), ct);
    }

    /// <summary>The transmission flags a kernel client of <paramref name="image"/> gets (NBD_SET_FLAGS).</summary>
    public static ushort KernelFlags(Imaging.Images.IBlockImage image) =>
        (ushort)(NegotiatedExport.FlagsFor(image, structuredReplies: false) & ~NbdTransmissionFlags.CanMultiConn);

    private async Task RunConnectionAsync(Stream stream, string peer,
        Func<PipeReader, ReplyWriter, CancellationToken, Task<NegotiatedExport?>> negotiate, CancellationToken ct)
    {
        // 64 KiB segments keep a pipelined burst of 28-byte requests and a WRITE payload to a few reads.
        PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        // Replies go through a pipe flushed once per burst (ReplyWriter); 64 KiB segments hold a burst of small replies.
        PipeWriter pipeWriter = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));
        var writer = new ReplyWriter(pipeWriter, stream);
        string who = peer;
        NegotiatedExport? export = null;
        try
        {
            export = await negotiate(reader, writer, ct).ConfigureAwait(false);
            if (export is null)
                return;
            who = $"{peer} ({export.Name})";
            var transmission = new Transmission(reader, writer, export, _options, who, ct);
            await transmission.RunAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Server shutdown: not this connection's fault.
        }
        catch (Exception ex)
        {
            _options.Log.ConnectionDropped(who, Describe(ex));
        }
        finally
        {
            if (export is not null)
            {
                try
                {
                    await export.Image.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    _options.Log.CloseFailed(who, Describe(ex));
                }
            }
            await reader.CompleteAsync().ConfigureAwait(false);
            try { await pipeWriter.CompleteAsync().ConfigureAwait(false); }
            catch (IOException) { } // a final flush to a peer that has gone away
            await DisposeQuietlyAsync(stream).ConfigureAwait(false);
        }
    }

    private static string Describe(Exception ex) => ex switch {
        NbdProtocolException => $"protocol violation: {ex.Message}",
        EndOfStreamException => ex.Message,
        ConnectionLostException => ex.Message,
        IOException => $"I/O error: {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private static async ValueTask DisposeQuietlyAsync(Stream stream)
    {
        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Flushing to a peer that has gone away fails; the stream is closed either way.
        }
    }
}
