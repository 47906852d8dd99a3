using System.Buffers;
using System.IO.Pipelines;

namespace Circular.Nbd;

/// <summary>
/// The transmission phase of one connection. A single reader parses requests in order, validates each once
/// (inner layers may then assume valid ranges) and starts it; requests run concurrently, bounded by an
/// <see cref="InFlightLimiter"/>, and reply out of order through the <see cref="ReplyWriter"/>.
/// A request whose image call completes synchronously runs inline, with no task or buffer beyond its rented one.
/// </summary>
internal sealed partial class Transmission
{
    private readonly PipeReader _reader;
    private readonly ReplyWriter _writer;
    private readonly NegotiatedExport _export;
    private readonly NbdServerOptions _options;
    private readonly string _who;
    private readonly InFlightLimiter _limiter;
    private readonly CancellationTokenSource _cts;
    private readonly long _size;
    private Exception? _failure;

    public Transmission(PipeReader reader, ReplyWriter writer, NegotiatedExport export, NbdServerOptions options, string who, CancellationToken ct)
    {
        _reader = reader;
        _writer = writer;
        _export = export;
        _options = options;
        _who = who;
        _limiter = new InFlightLimiter(options.MaxInFlight, Math.Max(options.MaxInFlightBytes, options.MaxPayload));
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _size = export.Image.Size;
    }

    /// <summary>
    /// Serves requests until DISC, end of stream, cancellation or a protocol violation; always waits for
    /// requests in progress before returning, so the caller may then dispose the image.
    /// </summary>
    /// <exception cref="NbdProtocolException">The client lost sync.</exception>
    public async Task RunAsync()
    {
        CancellationToken ct = _cts.Token;
        try
        {
            while (true)
            {
                ReadResult result = await _reader.ReadAtLeastAsync(NbdSizes.Request, ct).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                NbdRequest request;
                bool parsed;
                try
                {
                    parsed = RequestParser.TryReadRequest(ref buffer, out request);
                }
                finally
                {
                    // Consume only what was parsed: later requests may already be buffered behind it.
                    _reader.AdvanceTo(buffer.Start);
                }
                if (!parsed)
                {
                    if (buffer.Length > 0)
                        throw new EndOfStreamException("client disconnected in the middle of a request");
                    break; // Closed without DISC: nobody is left to reply to, but finish what was started.
                }
                if (!await DispatchAsync(request, ct).ConfigureAwait(false))
                    break;
            }
        }
        catch (OperationCanceledException) when (_failure is not null)
        {
            // A reply write failed and cancelled the reader; report that failure instead.
        }
        finally
        {
            await _limiter.DrainAsync().ConfigureAwait(false);
            _cts.Dispose();
        }
        if (_failure is not null)
            throw _failure;
    }

    /// <summary>Validates and starts one request. Returns false for DISC.</summary>
    private async ValueTask<bool> DispatchAsync(NbdRequest request, CancellationToken ct)
    {
        if (request.Command == NbdCommand.Disconnect)
            return false;

        NbdError error = Validate(request);
        if (request.Command == NbdCommand.Write)
        {
            // The payload follows whether or not we accept the write; if it is too big to buffer we cannot
            // skip it safely either, so the connection goes.
            if (request.Length > (uint)_options.MaxPayload)
                throw new NbdProtocolException($"WRITE of {request.Length} bytes exceeds the maximum payload {_options.MaxPayload}");
            if (error != NbdError.None)
            {
                await _reader.SkipAsync(request.Length, ct).ConfigureAwait(false);
                await SendErrorAsync(request, error, ct).ConfigureAwait(false);
                return true;
            }
        }
        else if (error != NbdError.None)
        {
            await SendErrorAsync(request, error, ct).ConfigureAwait(false);
            return true;
        }

        long bytes = request.Command is NbdCommand.Read or NbdCommand.Write ? request.Length : 0;
        await _limiter.WaitAsync(bytes, ct).ConfigureAwait(false);
        byte[]? payload = null;
        if (request.Command == NbdCommand.Write)
        {
            try
            {
                payload = ArrayPool<byte>.Shared.Rent((int)request.Length);
                await _reader.ReadExactlyAsync(payload.AsMemory(0, (int)request.Length), ct).ConfigureAwait(false);
            }
            catch
            {
                if (payload is not null)
                    ArrayPool<byte>.Shared.Return(payload);
                _limiter.Release(bytes);
                throw;
            }
        }
        // Not awaited: the request replies on its own and releases the limiter; the reader moves on.
        _ = ExecuteAsync(request, payload, bytes, ct);
        return true;
    }

    /// <summary>
    /// The boundary check (nbdkit's validate_request): commands, flags and ranges. Everything past this point
    /// may assume 0 &lt;= offset, offset + length &lt;= size.
    /// </summary>
    private NbdError Validate(in NbdRequest request)
    {
        NbdCommandFlags allowed;
        bool writes = false;
        switch (request.Command)
        {
            case NbdCommand.Read:
                allowed = _export.StructuredReplies ? NbdCommandFlags.DontFragment : NbdCommandFlags.None;
                if (request.Length > (uint)_options.MaxPayload)
                    return NbdError.Inval;
                break;
            case NbdCommand.Write:
                allowed = NbdCommandFlags.Fua;
                writes = true;
                break;
            case NbdCommand.Trim:
                allowed = NbdCommandFlags.Fua;
                writes = true;
                break;
            case NbdCommand.WriteZeroes:
                allowed = NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.FastZero;
                writes = true;
                break;
            case NbdCommand.Flush:
                return request.Flags == NbdCommandFlags.None ? NbdError.None : NbdError.Inval;
            case NbdCommand.Cache:
                allowed = NbdCommandFlags.None;
                break;
            case NbdCommand.BlockStatus:
                allowed = NbdCommandFlags.ReqOne;
                if (!_export.BaseAllocationSelected || request.Length == 0)
                    return NbdError.Inval;
                break;
            default:
                return NbdError.Inval;
        }

        if ((request.Flags & ~allowed) != 0)
            return NbdError.Inval;
        if (writes && !_export.Image.IsWritable)
            return NbdError.Perm;
        // Written so that a hostile offset near 2^64 cannot overflow.
        if (request.Offset > (ulong)_size || request.Length > (ulong)_size - request.Offset)
            return writes ? NbdError.NoSpc : NbdError.Inval;
        return NbdError.None;
    }

    /// <summary>Error reply in the form the command needs: READ and BLOCK_STATUS get an ERROR chunk when structured.</summary>
    private ValueTask SendErrorAsync(in NbdRequest request, NbdError error, CancellationToken ct)
    {
        if (_export.StructuredReplies && request.Command is NbdCommand.Read or NbdCommand.BlockStatus)
            return _writer.SendErrorChunkAsync(request.Cookie, error, ct);
        return _writer.SendSimpleAsync(request.Cookie, error, ct);
    }

    /// <summary>A reply could not be written: the connection is unusable. Stop reading; the loop reports why.</summary>
    private void Fail(Exception exception)
    {
        Interlocked.CompareExchange(ref _failure, exception, null);
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The reader already finished; nothing more to stop.
        }
    }
}
