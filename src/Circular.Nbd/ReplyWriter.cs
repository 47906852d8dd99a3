using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;

namespace Circular.Nbd;

/// <summary>
/// Serialises frames onto the connection: requests complete concurrently, but each reply goes out whole,
/// header and data in one write and one flush, so frames never interleave.
/// </summary>
internal sealed class ReplyWriter(Stream stream)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Writes one complete frame (or several back to back) and flushes.</summary>
    /// <exception cref="ConnectionLostException">The write failed; the connection must be closed.</exception>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(frame, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Possibly half a frame went out: nothing more can be sent on this connection.
            throw new ConnectionLostException(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Simple reply without data: an acknowledgement or an error.</summary>
    public async ValueTask SendSimpleAsync(ulong cookie, NbdError error, CancellationToken ct)
    {
        byte[] frame = ArrayPool<byte>.Shared.Rent(NbdSizes.SimpleReply);
        try
        {
            WriteSimpleHeader(frame, cookie, error);
            await SendAsync(frame.AsMemory(0, NbdSizes.SimpleReply), ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Final ERROR chunk of a structured reply, without a message.</summary>
    public async ValueTask SendErrorChunkAsync(ulong cookie, NbdError error, CancellationToken ct)
    {
        // header + u32 error + u16 message length (0)
        const int Length = NbdSizes.ChunkHeader + 4 + 2;
        byte[] frame = ArrayPool<byte>.Shared.Rent(Length);
        try
        {
            WriteChunkHeader(frame, NbdChunkFlags.Done, NbdChunkType.Error, cookie, Length - NbdSizes.ChunkHeader);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(20), (uint)error);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), 0);
            await SendAsync(frame.AsMemory(0, Length), ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Final NONE chunk: success with nothing to say (e.g. a zero-length structured READ).</summary>
    public async ValueTask SendNoneChunkAsync(ulong cookie, CancellationToken ct)
    {
        byte[] frame = ArrayPool<byte>.Shared.Rent(NbdSizes.ChunkHeader);
        try
        {
            WriteChunkHeader(frame, NbdChunkFlags.Done, NbdChunkType.None, cookie, 0);
            await SendAsync(frame.AsMemory(0, NbdSizes.ChunkHeader), ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
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
