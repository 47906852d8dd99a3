using System.Buffers;
using System.Buffers.Binary;
using Circular.Imaging.Images;

namespace Circular.Nbd;

/// <summary>Executing validated requests against the image and sending their replies.</summary>
internal sealed partial class Transmission
{
    /// <summary>Source for NO_HOLE writes of zeros; never written to.</summary>
    private static readonly byte[] Zeroes = new byte[1024 * 1024];

    /// <summary>
    /// Runs one request to completion and replies. Never throws: image failures become error replies, and a
    /// failure to reply breaks the connection through <see cref="Fail"/>.
    /// </summary>
    private async Task ExecuteAsync(NbdRequest request, byte[]? payload, long bytes, CancellationToken ct)
    {
        try
        {
            try
            {
                await RunCommandAsync(request, payload, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not ConnectionLostException)
            {
                NbdError error = NbdErrors.FromException(ex);
                if (error != NbdError.Shutdown)
                    _options.Log.CommandFailed(_who, request.Command, request.Length, request.Offset, ex.Message);
                await SendErrorAsync(request, error, ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            if (payload is not null)
                ArrayPool<byte>.Shared.Return(payload);
            _limiter.Release(bytes);
        }
    }

    private ValueTask RunCommandAsync(in NbdRequest request, byte[]? payload, CancellationToken ct) => request.Command switch {
        NbdCommand.Read => ReadAsync(request, ct),
        NbdCommand.Write => WriteAsync(request, payload!, ct),
        NbdCommand.Flush => FlushAsync(request, ct),
        NbdCommand.Trim => ZeroAsync(request, noHole: false, ct),
        NbdCommand.WriteZeroes => ZeroAsync(request, (request.Flags & NbdCommandFlags.NoHole) != 0, ct),
        NbdCommand.Cache => CacheAsync(request, ct),
        NbdCommand.BlockStatus => BlockStatusAsync(request, ct),
        _ => throw new InvalidOperationException($"command {request.Command} passed validation"),
    };

    /// <summary>
    /// Reads into one rented buffer with room for the reply header in front, so header and data leave in a
    /// single write. Structured: one OFFSET_DATA chunk, or one OFFSET_HOLE chunk when the data is all zeros
    /// (scanning is far cheaper than sending them).
    /// </summary>
    private async ValueTask ReadAsync(NbdRequest request, CancellationToken ct)
    {
        int length = (int)request.Length;
        bool structured = _export.StructuredReplies;
        if (length == 0)
        {
            if (structured)
                await _writer.SendNoneChunkAsync(request.Cookie, ct).ConfigureAwait(false);
            else
                await _writer.SendSimpleAsync(request.Cookie, NbdError.None, ct).ConfigureAwait(false);
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Memory<byte> data = buffer.AsMemory(0, length);
            await _export.Image.ReadAsync((long)request.Offset, data, ct).ConfigureAwait(false);
            if (!structured)
                await _writer.SendAsync(NbdSizes.SimpleReply, request.Cookie,
                    static (span, cookie) =>
                    {
                        ReplyWriter.WriteSimpleHeader(span, cookie, NbdError.None);
                        return NbdSizes.SimpleReply;
                    }, data, ct).ConfigureAwait(false);
            else if (!data.Span.ContainsAnyExcept((byte)0))
                // OFFSET_HOLE payload: u64 offset, u32 hole size.
                await _writer.SendAsync(NbdSizes.ChunkHeader + 12, request, static (span, r) =>
                {
                    ReplyWriter.WriteChunkHeader(span, NbdChunkFlags.Done, NbdChunkType.OffsetHole, r.Cookie, 12);
                    BinaryPrimitives.WriteUInt64BigEndian(span[NbdSizes.ChunkHeader..], r.Offset);
                    BinaryPrimitives.WriteUInt32BigEndian(span[(NbdSizes.ChunkHeader + 8)..], r.Length);
                    return NbdSizes.ChunkHeader + 12;
                }, default, ct).ConfigureAwait(false);
            else
                // OFFSET_DATA payload: u64 offset, then the data.
                await _writer.SendAsync(NbdSizes.ChunkHeader + 8, request, static (span, r) =>
                {
                    ReplyWriter.WriteChunkHeader(span, NbdChunkFlags.Done, NbdChunkType.OffsetData, r.Cookie, 8 + (int)r.Length);
                    BinaryPrimitives.WriteUInt64BigEndian(span[NbdSizes.ChunkHeader..], r.Offset);
                    return NbdSizes.ChunkHeader + 8;
                }, data, ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask WriteAsync(NbdRequest request, byte[] payload, CancellationToken ct)
    {
        if (request.Length > 0)
            await _export.Image.WriteAsync((long)request.Offset, payload.AsMemory(0, (int)request.Length), ct).ConfigureAwait(false);
        await FinishWriteAsync(request, ct).ConfigureAwait(false);
    }

    /// <summary>TRIM and WRITE_ZEROES. NO_HOLE asks for allocated zeros, so those are written as data.</summary>
    private async ValueTask ZeroAsync(NbdRequest request, bool noHole, CancellationToken ct)
    {
        // We never advertise fast zeroing: the image cannot promise that zeroing is cheaper than writing.
        if ((request.Flags & NbdCommandFlags.FastZero) != 0)
        {
            await _writer.SendSimpleAsync(request.Cookie, NbdError.NotSup, ct).ConfigureAwait(false);
            return;
        }
        IBlockImage image = _export.Image;
        long offset = (long)request.Offset;
        long end = offset + request.Length;
        if (noHole)
        {
            for (long at = offset; at < end; at += Zeroes.Length)
                await image.WriteAsync(at, Zeroes.AsMemory(0, (int)Math.Min(Zeroes.Length, end - at)), ct).ConfigureAwait(false);
        }
        else if (request.Length > 0)
        {
            await image.WriteZeroesAsync(offset, request.Length, ct).ConfigureAwait(false);
        }
        await FinishWriteAsync(request, ct).ConfigureAwait(false);
    }

    /// <summary>FUA: the write is durable before we acknowledge it.</summary>
    private async ValueTask FinishWriteAsync(NbdRequest request, CancellationToken ct)
    {
        if ((request.Flags & NbdCommandFlags.Fua) != 0)
            await _export.Image.FlushAsync(ct).ConfigureAwait(false);
        await _writer.SendSimpleAsync(request.Cookie, NbdError.None, ct).ConfigureAwait(false);
    }

    private async ValueTask FlushAsync(NbdRequest request, CancellationToken ct)
    {
        // A read-only export has nothing to make durable.
        if (_export.Image.IsWritable)
            await _export.Image.FlushAsync(ct).ConfigureAwait(false);
        await _writer.SendSimpleAsync(request.Cookie, NbdError.None, ct).ConfigureAwait(false);
    }

    private async ValueTask CacheAsync(NbdRequest request, CancellationToken ct)
    {
        if (request.Length > 0)
            await _export.Image.PrefetchAsync((long)request.Offset, request.Length, ct).ConfigureAwait(false);
        await _writer.SendSimpleAsync(request.Cookie, NbdError.None, ct).ConfigureAwait(false);
    }

    private async ValueTask BlockStatusAsync(NbdRequest request, CancellationToken ct)
    {
        IReadOnlyList<Extent> extents = await _export.Image.GetExtentsAsync((long)request.Offset, request.Length, ct).ConfigureAwait(false);
        bool reqOne = (request.Flags & NbdCommandFlags.ReqOne) != 0;
        int capacity = BlockStatusEncoder.MaxDescriptors(extents.Count);
        // Chunk header, u32 context id, then (u32 length, u32 flags) per descriptor: encoded straight into the pipe.
        const int Prefix = NbdSizes.ChunkHeader + 4;
        await _writer.SendAsync(Prefix + 8 * capacity, (Extents: extents, Request: request, Size: _size, ReqOne: reqOne), static (span, s) =>
        {
            int count = BlockStatusEncoder.Encode(s.Extents, (long)s.Request.Offset, s.Request.Length, s.Size, s.ReqOne, span[Prefix..]);
            ReplyWriter.WriteChunkHeader(span, NbdChunkFlags.Done, NbdChunkType.BlockStatus, s.Request.Cookie, 4 + 8 * count);
            BinaryPrimitives.WriteUInt32BigEndian(span[NbdSizes.ChunkHeader..], NegotiatedExport.BaseAllocationId);
            return Prefix + 8 * count;
        }, default, ct).ConfigureAwait(false);
    }
}
