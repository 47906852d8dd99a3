using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;

namespace Circular.Nbd;

/// <summary>Builds a frame header in <paramref name="span"/> and returns its length.</summary>
internal delegate int HeaderWriter<in TState>(Span<byte> span, TState state);

/// <summary>
/// Writes reply frames into the connection's <see cref="PipeWriter"/>, as Kestrel's frame writer does: requests
/// complete concurrently, each frame goes in whole under one lock (frames never interleave), headers are built in the
/// pipe's own memory (no buffer per reply), and a flush happens only when no other reply is waiting to be written, so
/// a burst of replies leaves in one write instead of one per frame.
/// </summary>
internal sealed class ReplyWriter(PipeWriter pipe, Stream? direct = null)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    /// <summary>Payloads from this size on bypass the pipe (see <see cref="SendAsync{TState}"/>).</summary>
    private const int DirectPayload = 64 * 1024;
    /// <summary>Replies written or waiting to be: the one that brings it to zero flushes.</summary>
    private int _pending;

    /// <summary>Writes one complete frame (or several back to back).</summary>
    /// <exception cref="ConnectionLostException">The write failed; the connection must be closed.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct) =>
        SendAsync(0, 0, static (_, _) => 0, frame, ct);

    /// <summary>Simple reply without data: an acknowledgement or an error.</summary>
    public ValueTask SendSimpleAsync(ulong cookie, NbdError error, CancellationToken ct) =>
        SendAsync(NbdSizes.SimpleReply, (cookie, error), static (span, s) =>
        {
            WriteSimpleHeader(span, s.cookie, s.error);
            return NbdSizes.SimpleReply;
        }, default, ct);

    /// <summary>Final ERROR chunk of a structured reply, without a message.</summary>
    public ValueTask SendErrorChunkAsync(ulong cookie, NbdError error, CancellationToken ct) =>
        // header + u32 error + u16 message length (0)
        SendAsync(NbdSizes.ChunkHeader + 4 + 2, (cookie, error), static (span, s) =>
        {
            WriteChunkHeader(span, NbdChunkFlags.Done, NbdChunkType.Error, s.cookie, 4 + 2);
            BinaryPrimitives.WriteUInt32BigEndian(span[20..], (uint)s.error);
            BinaryPrimitives.WriteUInt16BigEndian(span[24..], 0);
            return NbdSizes.ChunkHeader + 4 + 2;
        }, default, ct);

    /// <summary>Final NONE chunk: success with nothing to say (e.g. a zero-length structured READ).</summary>
    public ValueTask SendNoneChunkAsync(ulong cookie, CancellationToken ct) =>
        SendAsync(NbdSizes.ChunkHeader, cookie, static (span, c) =>
        {
            WriteChunkHeader(span, NbdChunkFlags.Done, NbdChunkType.None, c, 0);
            return NbdSizes.ChunkHeader;
        }, default, ct);

    /// <summary>
    /// Writes a frame: a header of at most <paramref name="maxHeaderLength"/> bytes that <paramref name="writeHeader"/>
    /// builds in the pipe's memory (returning its length), then <paramref name="payload"/>; flushes unless another reply
    /// is waiting to follow.
    /// </summary>
    public async ValueTask SendAsync<TState>(int maxHeaderLength, TState state, HeaderWriter<TState> writeHeader, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        Interlocked.Increment(ref _pending);
        try
        {
            await _gate.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            // Never entered: if this was the reply a writer before it left unflushed for, flush for it.
            if (Interlocked.Decrement(ref _pending) == 0) await FlushIdleAsync().ConfigureAwait(false);
            throw;
        }
        try
        {
            if (direct is not null && payload.Length >= DirectPayload)
            {
                // A large payload (a whole chunk) goes from the caller's buffer to the socket: copying 256 KiB into the
                // pipe cost more than a second send for the header. The pipe is flushed first, so replies stay whole and
                // in order.
                var head = pipe.GetSpan(maxHeaderLength);
                pipe.Advance(maxHeaderLength > 0 ? writeHeader(head[..maxHeaderLength], state) : 0);
                Interlocked.Decrement(ref _pending);
                await FlushAsync(ct).ConfigureAwait(false);
                await direct.WriteAsync(payload, ct).ConfigureAwait(false);
                return;
            }
            // Header and payload in one contiguous piece of the pipe's memory: the pipe writes each of its segments to the
            // socket separately, so a 256 KiB READ copied into 64 KiB segments left in five writes instead of one.
            var span = pipe.GetSpan(maxHeaderLength + payload.Length);
            int header = maxHeaderLength > 0 ? writeHeader(span[..maxHeaderLength], state) : 0;
            payload.Span.CopyTo(span[header..]);
            pipe.Advance(header + payload.Length);
            if (Interlocked.Decrement(ref _pending) == 0) await FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ConnectionLostException)
        {
            // Possibly half a frame went out: nothing more can be sent on this connection.
            throw new ConnectionLostException(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        var result = await pipe.FlushAsync(ct).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted) throw new ConnectionLostException(new IOException("the connection's writer was closed"));
    }

    private async ValueTask FlushIdleAsync()
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _pending) == 0) await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ConnectionLostException) { }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// <code>
    ///  0        4        8                16
    ///  +--------+--------+----------------+
    ///  | magic  | error  | cookie         |
    ///  +--------+--------+----------------+
    /// </code>
    /// </summary>
    public static void WriteSimpleHeader(Span<byte> destination, ulong cookie, NbdError error)
    {
        Debug.Assert(destination.Length >= NbdSizes.SimpleReply);
        BinaryPrimitives.WriteUInt32BigEndian(destination, NbdMagic.SimpleReply);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], cookie);
    }

    /// <summary>
    /// <code>
    ///  0        4        6        8                16       20
    ///  +--------+--------+--------+----------------+--------+----------------
    ///  | magic  | flags  | type   | cookie         | length | payload (length bytes)
    ///  +--------+--------+--------+----------------+--------+----------------
    /// </code>
    /// </summary>
    public static void WriteChunkHeader(Span<byte> destination, ushort flags, NbdChunkType type, ulong cookie, int payloadLength)
    {
        Debug.Assert(destination.Length >= NbdSizes.ChunkHeader + payloadLength, "frame shorter than its declared length");
        BinaryPrimitives.WriteUInt32BigEndian(destination, NbdMagic.StructuredReply);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], (uint)payloadLength);
    }
}
