using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Storage.Writing;

namespace Circular.Imaging.Publishing;

/// <summary>
/// The write path for content-defined chunks (docs/chunking.md): reads the image once, in order, cuts it with
/// <see cref="ContentBoundaries"/> and stores each data chunk once, hashing and compressing on every core.
/// Zero pieces, and data chunks that turn out all zeros, are never stored. Holes reported by the source are not read.
/// </summary>
public sealed class ContentChunker(ChunkWriter writer, int averageSize)
{
    private const int ReadSize = 1 << 20;
    private long _processed;

    /// <summary>Bytes of the image dealt with so far, for progress bars.</summary>
    public long Processed => Interlocked.Read(ref _processed);

    public int Parallelism { get; init; } = Environment.ProcessorCount;

    private readonly record struct Job(int Index, byte[] Buffer, int Length);

    public Task<ChunkedResult> ChunkAsync(IBlockImage source, CancellationToken ct) => ChunkAsync(source, 0, source.Size, ct);

    /// <summary>Cuts [<paramref name="start"/>, start + <paramref name="length"/>) of the source as if it were a whole
    /// image (commit re-cuts a changed zero run this way); the entries' ends are relative to <paramref name="start"/>.</summary>
    public async Task<ChunkedResult> ChunkAsync(IBlockImage source, long start, long length, CancellationToken ct)
    {
        var emitted = new List<ImagePiece>();
        var cutter = new ContentBoundaries(averageSize, emitted.Add);
        int maxChunk = cutter.MaxChunkLength;
        var pool = ArrayPool<byte>.Create(maxChunk, Parallelism * 3 + 2);
        var zeroRanges = await ZeroRangesAsync(source, start, length, ct).ConfigureAwait(false);

        var ends = new List<long>();
        var results = new ConcurrentDictionary<int, StoredChunk>();
        long zeroEntries = 0;
        var jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(Parallelism * 2) { SingleWriter = true });
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var workers = Enumerable.Range(0, Parallelism).Select(_ => Task.Run(async () =>
        {
            byte[] scratch = new byte[ChunkFile.MaxEncodedLength(maxChunk)];
            try
            {
                await foreach (var job in jobs.Reader.ReadAllAsync(failed.Token).ConfigureAwait(false))
                {
                    try
                    {
                        var data = job.Buffer.AsMemory(0, job.Length);
                        if (data.Span.IndexOfAnyExcept((byte)0) < 0) Interlocked.Increment(ref zeroEntries); // stays zero
                        else results[job.Index] = await writer.PutStoredAsync(data, scratch, failed.Token).ConfigureAwait(false);
                        Interlocked.Add(ref _processed, job.Length);
                    }
                    finally { pool.Return(job.Buffer); }
                }
            }
            catch
            {
                failed.Cancel(); // stop the reader and the other workers at once
                throw;
            }
        }, failed.Token)).ToArray();

        // The window holds the image's last bytes: every piece the cutter emits lies within the last maxChunk bytes
        // plus a pending zero run (docs/chunking.md, rules 2-4), so it is still here when the Add that cut it returns.
        int keep = maxChunk + ContentBoundaries.ZeroRunPages * ContentBoundaries.PageSize;
        byte[] window = new byte[keep + ReadSize];
        long windowStart = 0;
        int windowLength = 0;

        async Task DispatchAsync()
        {
            foreach (var piece in emitted)
            {
                ends.Add(piece.End);
                if (piece.IsZero)
                {
                    Interlocked.Increment(ref zeroEntries);
                    Interlocked.Add(ref _processed, piece.Length);
                    continue;
                }
                long at = piece.Offset - windowStart;
                if (at < 0 || piece.End > windowStart + windowLength) throw new InvalidOperationException("content chunk outside the read window");
                var buffer = pool.Rent((int)piece.Length);
                window.AsSpan((int)at, (int)piece.Length).CopyTo(buffer);
                await jobs.Writer.WriteAsync(new Job(ends.Count - 1, buffer, (int)piece.Length), failed.Token).ConfigureAwait(false);
            }
            emitted.Clear();
        }

        try
        {
            for (long pos = 0; pos < length;)
            {
                int n = (int)Math.Min(ReadSize, length - pos);
                var dest = window.AsMemory(windowLength, n);
                if (IsZero(zeroRanges, start + pos, n)) dest.Span.Clear();
                else await source.ReadAsync(start + pos, dest, failed.Token).ConfigureAwait(false);
                windowLength += n;
                pos += n;
                cutter.Add(dest.Span);
                await DispatchAsync().ConfigureAwait(false);
                if (windowLength > keep)
                {
                    int drop = windowLength - keep;
                    window.AsSpan(drop, keep).CopyTo(window);
                    windowStart += drop;
                    windowLength = keep;
                }
            }
            cutter.Complete();
            await DispatchAsync().ConfigureAwait(false);
            jobs.Writer.Complete();
        }
        catch (Exception e)
        {
            jobs.Writer.TryComplete(e);
            failed.Cancel();
            await Task.WhenAll(workers).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            // The reader stopped because a worker failed: that failure (a full disk, say) is the one to report.
            if (e is OperationCanceledException && !ct.IsCancellationRequested
                && workers.FirstOrDefault(w => w.IsFaulted)?.Exception?.InnerException is { } cause)
                ExceptionDispatchInfo.Throw(cause);
            throw;
        }
        await Task.WhenAll(workers).ConfigureAwait(false);

        var ids = new ChunkId[ends.Count];
        var stored = new ChunkId[ends.Count];
        foreach (var (i, chunk) in results)
        {
            ids[i] = chunk.Id;
            stored[i] = chunk.Stored;
        }
        return new ChunkedResult(ids, zeroEntries) { Ends = ends.ToArray(), Stored = stored };
    }

    /// <summary>The ranges the source reports as holes or zeros, in order.</summary>
    private static async Task<List<Extent>> ZeroRangesAsync(IBlockImage source, long start, long length, CancellationToken ct)
    {
        var zeros = new List<Extent>();
        long pos = start, end = start + length;
        while (pos < end)
        {
            var extents = await source.GetExtentsAsync(pos, end - pos, ct).ConfigureAwait(false);
            if (extents.Count == 0) break;
            foreach (var e in extents)
            {
                if (e.Length <= 0) return zeros;
                if (e.IsZero) zeros.Add(e);
                pos = e.Offset + e.Length;
            }
        }
        return zeros;
    }

    private static readonly Comparer<Extent> s_byOffset = Comparer<Extent>.Create((a, b) => a.Offset.CompareTo(b.Offset));

    private static bool IsZero(List<Extent> zeros, long offset, int length)
    {
        int i = zeros.BinarySearch(new Extent(offset, 0, true), s_byOffset);
        if (i < 0) i = ~i - 1;
        return i >= 0 && zeros[i].Offset <= offset && zeros[i].Offset + zeros[i].Length >= offset + length;
    }
}
