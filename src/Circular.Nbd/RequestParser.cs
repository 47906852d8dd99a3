using System.Buffers;
using System.Buffers.Binary;

namespace Circular.Nbd;

/// <summary>One transmission-phase request header, as read off the wire (not yet validated).</summary>
internal readonly record struct NbdRequest(NbdCommandFlags Flags, NbdCommand Command, ulong Cookie, ulong Offset, uint Length);

internal static class RequestParser
{
    /// <summary>
    /// Parses one request header from the front of <paramref name="buffer"/> and slices it off.
    /// Returns false, leaving the buffer alone, while fewer than 28 bytes are buffered.
    /// A WRITE's payload follows the header and is not consumed here.
    /// </summary>
    /// <remarks>
    /// <code>
    ///  0        4        6        8                16               24       28
    ///  +--------+--------+--------+----------------+----------------+--------+
    ///  | magic  | flags  | type   | cookie         | offset         | length |
    ///  | u32    | u16    | u16    | u64            | u64            | u32    |
    ///  +--------+--------+--------+----------------+----------------+--------+
    /// </code>
    /// </remarks>
    /// <exception cref="NbdProtocolException">Bad magic: sync is lost and the connection must be dropped.</exception>
    public static bool TryReadRequest(ref ReadOnlySequence<byte> buffer, out NbdRequest request)
    {
        if (buffer.Length < NbdSizes.Request)
        {
            request = default;
            return false;
        }

        // Fast path: the header sits in one segment (nearly always); otherwise copy it out.
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        Span<byte> copy = stackalloc byte[NbdSizes.Request];
        scoped ReadOnlySpan<byte> header;
        if (first.Length >= NbdSizes.Request)
        {
            header = first[..NbdSizes.Request];
        }
        else
        {
            buffer.Slice(0, NbdSizes.Request).CopyTo(copy);
            header = copy;
        }

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != NbdMagic.Request)
            ThrowBadMagic(magic);

        request = new NbdRequest(
            Flags: (NbdCommandFlags)BinaryPrimitives.ReadUInt16BigEndian(header[4..]),
            Command: (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(header[6..]),
            Cookie: BinaryPrimitives.ReadUInt64BigEndian(header[8..]),
            Offset: BinaryPrimitives.ReadUInt64BigEndian(header[16..]),
            Length: BinaryPrimitives.ReadUInt32BigEndian(header[24..]));
        buffer = buffer.Slice(NbdSizes.Request);
        return true;
    }

    private static void ThrowBadMagic(uint magic) =>
        throw new NbdProtocolException($"bad request magic 0x{magic:x8}");
}
