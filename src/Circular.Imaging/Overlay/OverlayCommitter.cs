using System.Buffers;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Imaging.Publishing;
using Circular.Storage.Writing;

namespace Circular.Imaging.Overlay;

/// <summary>
/// Turns base + overlay into the chunk list of a new version, keeping the base's boundaries: entries the overlay
/// never touched keep their chunk ids; each touched entry is read through the overlay and stored (only if the archive
/// lacks it). A touched zero run of content-defined chunks, which may be longer than any chunk, is cut anew by
/// content. A base with stored-file digests (format 2) gives a result with them.
/// </summary>
public sealed class OverlayCommitter(OverlayImage overlay, Manifest baseManifest, ChunkWriter writer)
{
    private long _processed;
    private ContentChunker? _cutter;
    public long Processed => Interlocked.Read(ref _processed) + (_cutter?.Processed ?? 0);

    public sealed record Result(ChunkedResult Chunks, long ChangedBlocks)
    {
        public ChunkId[] Blocks => Chunks.Blocks;
        public long ZeroBlocks => Chunks.ZeroBlocks;
    }

    public async Task<Result> BuildAsync(CancellationToken ct)
    {
        var map = baseManifest.Map;
        bool digests = map.HasStoredDigests;
        var changed = new List<int>();
        for (int i = 0; i < map.Count; i++)
            if (overlay.IsWritten(map.Offset(i), map.Length(i))) changed.Add(i);
        // Entries too long to be one chunk (content zero runs) are re-cut; the others are stored whole, in place.
        var recut = new Dictionary<int, ChunkedResult>();
        var ids = map.Ids.ToArray();
        var stored = new ChunkId[map.Count];
        for (int i = 0; i < map.Count; i++) stored[i] = map.StoredDigest(i);
        var whole = changed.Where(i => map.Length(i) <= ChunkFile.MaxChunkLength && (map.IsGrid || !map.Id(i).IsZero)).ToList();
        int maxLength = whole.Count == 0 ? 0 : (int)whole.Max(i => map.Length(i));

        var opts = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct };
        await Parallel.ForEachAsync(whole, opts, async (i, token) =>
        {
            int len = (int)map.Length(i);
            byte[] raw = ArrayPool<byte>.Shared.Rent(maxLength);
            byte[] scratch = ArrayPool<byte>.Shared.Rent(ChunkFile.MaxEncodedLength(maxLength));
            try
            {
                var data = raw.AsMemory(0, len);
                await overlay.ReadAsync(map.Offset(i), data, token).ConfigureAwait(false);
                if (data.Span.IndexOfAnyExcept((byte)0) < 0) (ids[i], stored[i]) = (ChunkId.Zero, ChunkId.Zero);
                else
                {
                    var chunk = await writer.PutStoredAsync(data, scratch, token).ConfigureAwait(false);
                    (ids[i], stored[i]) = (chunk.Id, chunk.Stored);
                }
                Interlocked.Add(ref _processed, len);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }).ConfigureAwait(false);
        foreach (int i in changed.Except(whole))
        {
            _cutter ??= new ContentChunker(writer, baseManifest.ChunkSize);
            recut[i] = await _cutter.ChunkAsync(overlay, map.Offset(i), map.Length(i), ct).ConfigureAwait(false);
        }
        return new Result(Assemble(map, ids, digests ? stored : null, recut), changed.Count);
    }

    /// <summary>The new entry list: the base's, with each re-cut entry replaced by its pieces.</summary>
    private static ChunkedResult Assemble(ChunkMap map, ChunkId[] ids, ChunkId[]? stored, Dictionary<int, ChunkedResult> recut)
    {
        if (map.IsGrid)
            return new ChunkedResult(ids, ids.LongCount(b => b.IsZero)) { Stored = stored };
        var outIds = new List<ChunkId>(ids.Length);
        var outEnds = new List<long>(ids.Length);
        var outStored = new List<ChunkId>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (recut.TryGetValue(i, out var pieces))
            {
                long start = map.Offset(i);
                for (int k = 0; k < pieces.Blocks.Length; k++)
                {
                    outIds.Add(pieces.Blocks[k]);
                    outEnds.Add(start + pieces.Ends![k]);
                    outStored.Add(pieces.Stored?[k] ?? ChunkId.Zero);
                }
                continue;
            }
            outIds.Add(ids[i]);
            outEnds.Add(map.End(i));
            outStored.Add(stored?[i] ?? ChunkId.Zero);
        }
        return new ChunkedResult(outIds.ToArray(), outIds.LongCount(b => b.IsZero)) {
            Ends = outEnds.ToArray(),
            Stored = stored is null ? null : outStored.ToArray(),
        };
    }
}
