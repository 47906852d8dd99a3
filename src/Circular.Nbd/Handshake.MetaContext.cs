using System.Buffers.Binary;
using System.Text;

namespace Circular.Nbd;

/// <summary>LIST_META_CONTEXT and SET_META_CONTEXT. The only context offered is base:allocation.</summary>
internal sealed partial class Handshake
{
    /// <summary>
    /// <code>
    ///  0        4                4+n      8+n
    ///  +--------+----------------+--------+--------------------------------------
    ///  | n u32  | export name    | q u32  | q × (u32 length, query bytes)
    ///  +--------+----------------+--------+--------------------------------------
    /// </code>
    /// Reply: NBD_REP_META_CONTEXT (u32 id, name) per matching context, then ACK. Only allowed once
    /// structured replies are on, because BLOCK_STATUS replies are structured.
    /// </summary>
    private async ValueTask MetaContextAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        if (!_structuredReplies)
        {
            await SendErrorAsync(option, NbdOptionReply.ErrInvalid, "negotiate structured replies first", ct).ConfigureAwait(false);
            return;
        }
        if (!TryMatchQueries(option == NbdOption.ListMetaContext, data, out bool matched))
        {
            await SendErrorAsync(option, NbdOptionReply.ErrInvalid, "malformed meta context request", ct).ConfigureAwait(false);
            return;
        }

        // SET replaces whatever an earlier SET selected.
        if (option == NbdOption.SetMetaContext)
            _baseAllocation = matched;

        if (matched)
        {
            byte[] name = Encoding.ASCII.GetBytes(NegotiatedExport.BaseAllocation);
            byte[] payload = new byte[4 + name.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, NegotiatedExport.BaseAllocationId);
            name.CopyTo(payload, 4);
            await SendReplyAsync(option, NbdOptionReply.MetaContext, payload, ct).ConfigureAwait(false);
        }
        await SendReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Parses the request and reports whether it selects base:allocation. For LIST, no queries means
    /// "everything" and the namespace query "base:" matches too; SET needs the full name.
    /// </summary>
    private static bool TryMatchQueries(bool listing, byte[] data, out bool matched)
    {
        matched = false;
        ReadOnlySpan<byte> rest = data;
        if (rest.Length < 4)
            return false;
        uint nameLength = BinaryPrimitives.ReadUInt32BigEndian(rest);
        if (nameLength > NbdSizes.MaxString || nameLength > (uint)(rest.Length - 4))
            return false;
        rest = rest[(4 + (int)nameLength)..];
        if (rest.Length < 4)
            return false;
        uint queries = BinaryPrimitives.ReadUInt32BigEndian(rest);
        rest = rest[4..];
        if (queries == 0)
            matched = listing;

        for (uint i = 0; i < queries; i++)
        {
            if (rest.Length < 4)
                return false;
            uint length = BinaryPrimitives.ReadUInt32BigEndian(rest);
            if (length > NbdSizes.MaxString || length > (uint)(rest.Length - 4))
                return false;
            ReadOnlySpan<byte> query = rest.Slice(4, (int)length);
            rest = rest[(4 + (int)length)..];
            if (query.SequenceEqual("base:allocation"u8) || (listing && query.SequenceEqual("base:"u8)))
                matched = true;
        }
        return rest.IsEmpty;
    }
}
