using System.Buffers;
using System.IO.Pipelines;

namespace Circular.Nbd;

/// <summary>Exact-length reads from the client, for fixed-size fields and payloads whose length is already known.</summary>
internal static class PipeReaderExtensions
{
    /// <summary>
    /// Fills <paramref name="destination"/> from the pipe. Completes synchronously (without allocating) when the
    /// bytes are already buffered, which is the common case for pipelined WRITE payloads.
    /// </summary>
    /// <exception cref="EndOfStreamException">The client closed the connection first.</exception>
    public static async ValueTask ReadExactlyAsync(this PipeReader reader, Memory<byte> destination, CancellationToken ct)
    {
        while (destination.Length > 0)
        {
            ReadResult result = await reader.ReadAsync(ct).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            int take = (int)Math.Min(buffer.Length, destination.Length);
            buffer.Slice(0, take).CopyTo(destination.Span);
            SequencePosition consumed = buffer.GetPosition(take);
            // Nothing buffered past what we took: mark it all examined so the next read waits for new bytes.
            reader.AdvanceTo(consumed, take == buffer.Length ? buffer.End : consumed);
            destination = destination[take..];
            if (destination.Length > 0 && result.IsCompleted)
                throw new EndOfStreamException("client disconnected in the middle of a message");
            if (result.IsCanceled)
                throw new OperationCanceledException("read cancelled");
        }
    }

    /// <summary>Discards <paramref name="count"/> bytes, e.g. the payload of a WRITE that was refused.</summary>
    public static async ValueTask SkipAsync(this PipeReader reader, long count, CancellationToken ct)
    {
        while (count > 0)
        {
            ReadResult result = await reader.ReadAsync(ct).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            long take = Math.Min(buffer.Length, count);
            SequencePosition consumed = buffer.GetPosition(take);
            reader.AdvanceTo(consumed, take == buffer.Length ? buffer.End : consumed);
            count -= take;
            if (count > 0 && result.IsCompleted)
                throw new EndOfStreamException("client disconnected in the middle of a message");
            if (result.IsCanceled)
                throw new OperationCanceledException("read cancelled");
        }
    }
}
