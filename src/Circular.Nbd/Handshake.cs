using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Circular.Imaging.Catalog;

namespace Circular.Nbd;

/// <summary>
/// The fixed-newstyle handshake: greeting, client flags, then options until EXPORT_NAME or GO picks an export
/// (or the client aborts). Not a hot path, so it allocates freely; it never buffers more than
/// <see cref="NbdSizes.MaxOptionLength"/> per option.
/// </summary>
internal sealed partial class Handshake(
    PipeReader reader, ReplyWriter writer, IImageCatalog catalog, NbdServerOptions options, string peer)
{
    /// <summary>A client that needs more options than this is not negotiating, it is looping.</summary>
    private const int MaxOptions = 1024;

    private bool _noZeroes;
    private bool _structuredReplies;
    private bool _baseAllocation;

    /// <summary>Runs the handshake. Returns null when the client ended it without choosing an export.</summary>
    /// <exception cref="NbdProtocolException">The client broke the protocol; drop the connection.</exception>
    public async Task<NegotiatedExport?> RunAsync(CancellationToken ct)
    {
        await SendGreetingAsync(ct).ConfigureAwait(false);

        byte[] header = new byte[NbdSizes.OptionHeader];
        await reader.ReadExactlyAsync(header.AsMemory(0, 4), ct).ConfigureAwait(false);
        uint clientFlags = BinaryPrimitives.ReadUInt32BigEndian(header);
        // The protocol says a server must drop a client that sets a flag it does not know.
        if ((clientFlags & ~(uint)NbdClientFlags.Known) != 0)
            throw new NbdProtocolException($"unknown client flags 0x{clientFlags:x}");
        _noZeroes = (clientFlags & (uint)NbdClientFlags.NoZeroes) != 0;

        for (int i = 0; i < MaxOptions; i++)
        {
            //  0                8        12       16
            //  +----------------+--------+--------+----------------
            //  | IHAVEOPT       | option | length | data (length bytes)
            //  +----------------+--------+--------+----------------
            await reader.ReadExactlyAsync(header, ct).ConfigureAwait(false);
            ulong magic = BinaryPrimitives.ReadUInt64BigEndian(header);
            if (magic != NbdMagic.Option)
                throw new NbdProtocolException($"bad option magic 0x{magic:x16}");
            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            // Checked before buffering anything: a hostile length must not make us allocate.
            if (length > NbdSizes.MaxOptionLength)
                throw new NbdProtocolException($"option {(uint)option} is {length} bytes long");
            byte[] data = length == 0 ? [] : new byte[length];
            await reader.ReadExactlyAsync(data, ct).ConfigureAwait(false);

            OptionOutcome outcome = await HandleOptionAsync(option, data, ct).ConfigureAwait(false);
            if (outcome.Finished)
                return outcome.Export;
        }
        throw new NbdProtocolException($"more than {MaxOptions} options");
    }

    private readonly record struct OptionOutcome(bool Finished, NegotiatedExport? Export)
    {
        public static OptionOutcome Continue => default;
        public static OptionOutcome End => new(true, null);
        public static OptionOutcome Transmit(NegotiatedExport export) => new(true, export);
    }

    private async ValueTask<OptionOutcome> HandleOptionAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        switch (option)
        {
            case NbdOption.ExportName:
                return await ExportNameAsync(data, ct).ConfigureAwait(false);
            case NbdOption.Abort:
                await AbortAsync(ct).ConfigureAwait(false);
                return OptionOutcome.End;
            case NbdOption.List:
                await ListAsync(data, ct).ConfigureAwait(false);
                return OptionOutcome.Continue;
            case NbdOption.Info:
            case NbdOption.Go:
                return await InfoOrGoAsync(option, data, ct).ConfigureAwait(false);
            case NbdOption.StructuredReply:
                if (data.Length != 0)
                {
                    await SendErrorAsync(option, NbdOptionReply.ErrInvalid, "STRUCTURED_REPLY takes no data", ct).ConfigureAwait(false);
                    return OptionOutcome.Continue;
                }
                _structuredReplies = true;
                await SendReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
                return OptionOutcome.Continue;
            case NbdOption.ListMetaContext:
            case NbdOption.SetMetaContext:
                await MetaContextAsync(option, data, ct).ConfigureAwait(false);
                return OptionOutcome.Continue;
            case NbdOption.StartTls:
                await SendErrorAsync(option, NbdOptionReply.ErrUnsupported, "TLS is not supported by this server", ct).ConfigureAwait(false);
                return OptionOutcome.Continue;
            default:
                // The data was consumed already, so the stream stays in sync for the next option.
                await SendErrorAsync(option, NbdOptionReply.ErrUnsupported, $"option {(uint)option} is not supported", ct).ConfigureAwait(false);
                return OptionOutcome.Continue;
        }
    }

    private async ValueTask SendGreetingAsync(CancellationToken ct)
    {
        //  0                8                16
        //  +----------------+----------------+-------+
        //  | NBDMAGIC       | IHAVEOPT       | flags |
        //  +----------------+----------------+-------+
        byte[] greeting = new byte[NbdSizes.Greeting];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdMagic.Greeting);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdMagic.Option);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), (ushort)(NbdHandshakeFlags.FixedNewstyle | NbdHandshakeFlags.NoZeroes));
        await writer.SendAsync(greeting, ct).ConfigureAwait(false);
    }

    private async ValueTask AbortAsync(CancellationToken ct)
    {
        try
        {
            await SendReplyAsync(NbdOption.Abort, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client may hang up without waiting for the ACK; that is a clean end too.
        }
    }

    private async ValueTask ListAsync(byte[] data, CancellationToken ct)
    {
        if (data.Length != 0)
        {
            await SendErrorAsync(NbdOption.List, NbdOptionReply.ErrInvalid, "LIST takes no data", ct).ConfigureAwait(false);
            return;
        }
        IReadOnlyList<CatalogEntry> entries = await catalog.ListAsync(ct).ConfigureAwait(false);
        for (int i = 0; i < entries.Count; i++)
        {
            // u32 name length, name, then free-form details (nbdinfo --list shows them as the description).
            byte[] name = Utf8Limited(entries[i].Name);
            byte[] description = Utf8Limited(entries[i].Description);
            byte[] payload = new byte[4 + name.Length + description.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)name.Length);
            name.CopyTo(payload, 4);
            description.CopyTo(payload, 4 + name.Length);
            await SendReplyAsync(NbdOption.List, NbdOptionReply.Server, payload, ct).ConfigureAwait(false);
        }
        await SendReplyAsync(NbdOption.List, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <code>
    ///  0                8        12       16       20
    ///  +----------------+--------+--------+--------+----------------
    ///  | reply magic    | option | type   | length | data (length bytes)
    ///  +----------------+--------+--------+--------+----------------
    /// </code>
    /// </summary>
    private ValueTask SendReplyAsync(NbdOption option, NbdOptionReply type, ReadOnlySpan<byte> data, CancellationToken ct)
    {
        byte[] frame = new byte[NbdSizes.OptionReplyHeader + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(frame, NbdMagic.OptionReply);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(12), (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(16), (uint)data.Length);
        data.CopyTo(frame.AsSpan(NbdSizes.OptionReplyHeader));
        return writer.SendAsync(frame, ct);
    }

    private ValueTask SendErrorAsync(NbdOption option, NbdOptionReply error, string message, CancellationToken ct) =>
        SendReplyAsync(option, error, Utf8Limited(message), ct);

    /// <summary>UTF-8 bytes of a protocol string, cut to the 4096-byte limit.</summary>
    private static byte[] Utf8Limited(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Length <= NbdSizes.MaxString ? bytes : bytes[..NbdSizes.MaxString];
    }

    /// <summary>Decodes a client string; invalid UTF-8 becomes U+FFFD and so names no export.</summary>
    private static string DecodeName(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
