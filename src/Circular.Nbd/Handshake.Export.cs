using System.Buffers.Binary;
using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;

namespace Circular.Nbd;

/// <summary>Choosing an export: EXPORT_NAME (legacy), INFO and GO.</summary>
internal sealed partial class Handshake
{
    private sealed record OpenedExport(string Name, IBlockImage Image, string? Description);

    /// <summary>
    /// Legacy EXPORT_NAME: the data is the name; there is no option reply. On success the server sends
    /// size u64, transmission flags u16 and (unless NO_ZEROES) 124 zero bytes; on failure it can only hang up.
    /// </summary>
    private async ValueTask<OptionOutcome> ExportNameAsync(byte[] data, CancellationToken ct)
    {
        string requested = DecodeName(data);
        OpenedExport opened;
        try
        {
            opened = await OpenExportAsync(requested, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            options.Log.ExportRefused(peer, requested, ex.Message);
            return OptionOutcome.End;
        }

        try
        {
            NbdTransmissionFlags flags = NegotiatedExport.FlagsFor(opened.Image, _structuredReplies);
            byte[] reply = new byte[8 + 2 + (_noZeroes ? 0 : NbdSizes.ExportNamePadding)];
            BinaryPrimitives.WriteInt64BigEndian(reply, opened.Image.Size);
            BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)flags);
            await writer.SendAsync(reply, ct).ConfigureAwait(false);
            return OptionOutcome.Transmit(new NegotiatedExport(opened.Name, opened.Image, flags, _structuredReplies, _baseAllocation));
        }
        catch
        {
            await opened.Image.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// INFO and GO share a request:
    /// <code>
    ///  0        4                4+n      6+n
    ///  +--------+----------------+--------+------------------------
    ///  | n u32  | name (n bytes) | k u16  | k × info request u16
    ///  +--------+----------------+--------+------------------------
    /// </code>
    /// Replies: NBD_REP_INFO for EXPORT and each requested item we know, then ACK. After a GO's ACK the
    /// transmission phase starts at once. An unknown export gets ERR_UNKNOWN and the option loop carries on.
    /// </summary>
    private async ValueTask<OptionOutcome> InfoOrGoAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        if (!TryParseInfoRequest(data, out int nameLength, out int infoCount))
        {
            await SendErrorAsync(option, NbdOptionReply.ErrInvalid, "malformed INFO/GO request", ct).ConfigureAwait(false);
            return OptionOutcome.Continue;
        }
        string requested = DecodeName(data.AsSpan(4, nameLength));

        OpenedExport opened;
        try
        {
            opened = await OpenExportAsync(requested, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only a missing export is the client's mistake; anything else is worth a line in the log.
            if (ex is not NotFoundException)
                options.Log.ExportFailed(peer, requested, ex.Message);
            await SendErrorAsync(option, NbdOptionReply.ErrUnknown, ex.Message, ct).ConfigureAwait(false);
            return OptionOutcome.Continue;
        }

        bool transmitting = false;
        try
        {
            NbdTransmissionFlags flags = NegotiatedExport.FlagsFor(opened.Image, _structuredReplies);
            await SendInfosAsync(option, opened, flags, data.AsSpan(6 + nameLength, infoCount * 2).ToArray(), ct).ConfigureAwait(false);
            await SendReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
            if (option != NbdOption.Go)
                return OptionOutcome.Continue;
            transmitting = true;
            return OptionOutcome.Transmit(new NegotiatedExport(opened.Name, opened.Image, flags, _structuredReplies, _baseAllocation));
        }
        finally
        {
            if (!transmitting)
                await opened.Image.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static bool TryParseInfoRequest(byte[] data, out int nameLength, out int infoCount)
    {
        nameLength = 0;
        infoCount = 0;
        if (data.Length < 6)
            return false;
        uint n = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (n > NbdSizes.MaxString || 4 + n + 2 > (uint)data.Length)
            return false;
        nameLength = (int)n;
        infoCount = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4 + nameLength));
        return 4 + nameLength + 2 + infoCount * 2 == data.Length;
    }

    private async ValueTask SendInfosAsync(NbdOption option, OpenedExport opened, NbdTransmissionFlags flags, byte[] requests, CancellationToken ct)
    {
        // NBD_INFO_EXPORT is mandatory: u16 type, u64 size, u16 transmission flags.
        byte[] export = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(export, (ushort)NbdInfo.Export);
        BinaryPrimitives.WriteInt64BigEndian(export.AsSpan(2), opened.Image.Size);
        BinaryPrimitives.WriteUInt16BigEndian(export.AsSpan(10), (ushort)flags);
        await SendReplyAsync(option, NbdOptionReply.Info, export, ct).ConfigureAwait(false);

        // Sent whether asked or not: our constraints are the protocol defaults, so a client that ignores
        // them is still served correctly. u16 type, u32 minimum, u32 preferred, u32 maximum payload.
        byte[] blockSize = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(blockSize, (ushort)NbdInfo.BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(6), 4096);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(10), (uint)options.MaxPayload);
        await SendReplyAsync(option, NbdOptionReply.Info, blockSize, ct).ConfigureAwait(false);

        bool nameSent = false, descriptionSent = false;
        for (int i = 0; i + 1 < requests.Length; i += 2)
        {
            var info = (NbdInfo)BinaryPrimitives.ReadUInt16BigEndian(requests.AsSpan(i));
            if (info == NbdInfo.Name && !nameSent)
            {
                nameSent = true;
                await SendInfoStringAsync(option, NbdInfo.Name, opened.Name, ct).ConfigureAwait(false);
            }
            else if (info == NbdInfo.Description && !descriptionSent && !string.IsNullOrEmpty(opened.Description))
            {
                descriptionSent = true;
                await SendInfoStringAsync(option, NbdInfo.Description, opened.Description, ct).ConfigureAwait(false);
            }
            // Unknown items, and EXPORT/BLOCK_SIZE already sent, are ignored as the protocol allows.
        }
    }

    private ValueTask SendInfoStringAsync(NbdOption option, NbdInfo info, string text, CancellationToken ct)
    {
        byte[] bytes = Utf8Limited(text);
        byte[] payload = new byte[2 + bytes.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)info);
        bytes.CopyTo(payload, 2);
        return SendReplyAsync(option, NbdOptionReply.Info, payload, ct);
    }

    /// <summary>
    /// Resolves the empty name to the default export and opens the image. The catalog is the authority on
    /// names; its listing only supplies the canonical default and the description.
    /// </summary>
    /// <exception cref="NotFoundException">No such export (or no exports at all).</exception>
    private async ValueTask<OpenedExport> OpenExportAsync(string requested, CancellationToken ct)
    {
        IReadOnlyList<CatalogEntry> entries = await catalog.ListAsync(ct).ConfigureAwait(false);
        string name = requested;
        if (name.Length == 0)
        {
            name = options.DefaultExport ?? (entries.Count > 0 ? entries[0].Name : "");
            if (name.Length == 0)
                throw new NotFoundException("there is no default export: the catalog is empty");
        }

        string? description = null;
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].Name == name)
            {
                description = entries[i].Description;
                break;
            }
        }

        IBlockImage image = await catalog.OpenAsync(name, options.Writable, ct).ConfigureAwait(false);
        return new OpenedExport(name, image, description);
    }
}
