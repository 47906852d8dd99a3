using System.Security.Cryptography;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Imaging.Images;
using Circular.Imaging.Publishing;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Imaging.Tests;

/// <summary>The write path of content-defined chunks, and reading what it wrote through a format 2 manifest.</summary>
public sealed class ContentChunkerTests
{
    private const int Average = 16 << 10;

    /// <summary>Random pages with zero runs of every interesting length (1, 15, 16, 40 pages) and an odd tail.</summary>
    private static byte[] Content(int seed)
    {
        var b = new byte[(4 << 20) + 1234];
        new Random(seed).NextBytes(b);
        foreach (var (page, pages) in new[] { (10, 1), (50, 15), (120, 16), (300, 40), (700, 200) })
            b.AsSpan(page * 4096, pages * 4096).Clear();
        return b;
    }

    private static List<ImagePiece> Reference(byte[] content)
    {
        var pieces = new List<ImagePiece>();
        var cutter = new ContentBoundaries(Average, pieces.Add);
        cutter.Add(content);
        cutter.Complete();
        return pieces;
    }

    private static FakeImage Dense(byte[] content) => new(content, [new Extent(0, content.Length, false)]);

    [Fact]
    public async Task Cuts_exactly_where_the_boundary_rules_cut_and_stores_each_data_chunk_by_its_hash()
    {
        byte[] content = Content(1);
        var backend = new MemoryBackend();
        var writer = new ChunkWriter(backend, ChunkCodec.Zstd, 3) { RecordsStoredDigests = true };
        var result = await new ContentChunker(writer, Average) { Parallelism = 3 }.ChunkAsync(Dense(content), default);

        var expected = Reference(content);
        Assert.Equal(expected.Select(p => p.End), result.Ends!);
        for (int i = 0; i < expected.Count; i++)
        {
            var piece = content.AsSpan((int)expected[i].Offset, (int)expected[i].Length);
            if (expected[i].IsZero || piece.IndexOfAnyExcept((byte)0) < 0)
            {
                Assert.True(result.Blocks[i].IsZero, $"entry {i} is zeros but has a chunk");
                continue;
            }
            Assert.Equal(ChunkId.Compute(piece), result.Blocks[i]);
            byte[] file = backend.Files[ArchiveLayout.ChunkPath(result.Blocks[i])];
            Assert.Equal(ChunkId.FromBytes(SHA256.HashData(file)), result.Stored![i]);
        }
        Assert.Contains(expected, p => p.IsZero); // the 16-, 40- and 200-page runs stand alone
        Assert.Equal(result.Blocks.Count(b => b.IsZero), result.ZeroBlocks);
    }

    [Fact]
    public async Task Holes_the_source_reports_cut_as_the_same_bytes_read_densely()
    {
        byte[] content = Content(2);
        // Data extents around the two long zero runs: those are never read (FakeImage throws on a hole read).
        var data = new List<Extent> { new(0, 300 * 4096, false), new(340 * 4096, 360 * 4096, false), new(900 * 4096, content.Length - 900 * 4096, false) };
        var sparse = new FakeImage(content, data) { MaxExtentsPerCall = 2 };
        var a = await new ContentChunker(new ChunkWriter(new MemoryBackend(), ChunkCodec.Zstd, 3), Average).ChunkAsync(sparse, default);
        var b = await new ContentChunker(new ChunkWriter(new MemoryBackend(), ChunkCodec.Zstd, 3), Average).ChunkAsync(Dense(content), default);
        Assert.Equal(b.Ends!, a.Ends!);
        Assert.Equal(b.Blocks, a.Blocks);
    }

    [Fact]
    public async Task A_format_2_manifest_of_content_chunks_reads_byte_exact_at_every_chunk_edge()
    {
        byte[] content = Content(3);
        var backend = new MemoryBackend();
        var writer = new ChunkWriter(backend, ChunkCodec.Zlib, 6) { RecordsStoredDigests = true };
        var result = await new ContentChunker(writer, Average).ChunkAsync(Dense(content), default);
        var manifest = new Manifest(new ManifestMetadata { Image = "os", Version = 1, Created = DateTimeOffset.UnixEpoch },
            Chunking.Content, Average, result.Map(Average, content.Length));
        var parsed = Manifest.Parse(manifest.Serialize(), "test");
        await using var image = new ChunkedImage(parsed, new MemoryChunkCache(new BackendChunkSource(backend), ChunkSizes.Max, 8 << 20), "os@1");

        var rng = new Random(4);
        var buffer = new byte[3 * 65536];
        foreach (long end in result.Ends!.SkipLast(1))
        {
            // Across the edge, ending at it, starting at it.
            foreach (var (offset, length) in new[] { (end - 3, 7), (end - 4096, 4096), (end, 4096), (end - 70_000, 140_000) })
            {
                long o = Math.Max(0, offset);
                int n = (int)Math.Min(length, content.Length - o);
                await image.ReadAsync(o, buffer.AsMemory(0, n), default);
                Assert.True(buffer.AsSpan(0, n).SequenceEqual(content.AsSpan((int)o, n)), $"read {o} +{n} around the edge at {end}");
            }
        }
        var whole = new byte[content.Length];
        await image.ReadAsync(0, whole, default);
        Assert.Equal(content, whole);
        // The zero runs are holes to extent queries.
        var extents = await image.GetExtentsAsync(0, content.Length, default);
        Assert.Contains(extents, e => e.IsZero && e.Offset <= 300 * 4096 && e.Offset + e.Length >= 340 * 4096);
    }

    [Fact]
    public async Task A_reused_chunk_gets_the_digest_of_its_stored_file_and_a_corrupt_stored_file_is_replaced()
    {
        var backend = new MemoryBackend();
        byte[] raw = new byte[50_000];
        new Random(5).NextBytes(raw);
        var scratch = new byte[ChunkFile.MaxEncodedLength(raw.Length)];
        // Stored by an earlier writer at another level: the reuse must name that file's digest, not its own encoding's.
        var first = await new ChunkWriter(backend, ChunkCodec.Zlib, 1).PutStoredAsync(raw, scratch, default);
        string path = ArchiveLayout.ChunkPath(first.Id);
        var digest = ChunkId.FromBytes(SHA256.HashData(backend.Files[path]));

        var reuse = new ChunkWriter(backend, ChunkCodec.Zstd, 19) { RecordsStoredDigests = true };
        Assert.Equal(new StoredChunk(first.Id, digest), await reuse.PutStoredAsync(raw, scratch, default));
        Assert.Equal((0, 1), (reuse.NewChunks, reuse.Reused));

        // A stored file that does not decode to its id is never vouched for: it is written again.
        backend.Files[path] = backend.Files[path].AsSpan(0, 40).ToArray();
        var repair = new ChunkWriter(backend, ChunkCodec.Zstd, 3) { RecordsStoredDigests = true };
        var repaired = await repair.PutStoredAsync(raw, scratch, default);
        Assert.Equal(1, repair.NewChunks);
        Assert.Equal(ChunkId.FromBytes(SHA256.HashData(backend.Files[path])), repaired.Stored);
        var decoded = new byte[raw.Length];
        ChunkFile.DecodeVerified(first.Id, path, backend.Files[path], decoded);
    }

    [Fact]
    public async Task A_store_that_fails_fails_the_cut_with_its_own_error_not_a_cancellation()
    {
        byte[] content = Content(7);
        var chunker = new ContentChunker(new ChunkWriter(new FullBackend(), ChunkCodec.Zstd, 3), Average) { Parallelism = 2 };
        var e = await Assert.ThrowsAsync<IOException>(() => chunker.ChunkAsync(Dense(content), default));
        Assert.Contains("No space left", e.Message);
    }

    [Fact]
    public async Task The_same_chunk_put_concurrently_is_written_once_and_all_callers_learn_its_digest()
    {
        var backend = new MemoryBackend();
        byte[] raw = new byte[30_000];
        new Random(6).NextBytes(raw);
        var writer = new ChunkWriter(backend, ChunkCodec.Zstd, 3) { RecordsStoredDigests = true };
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
            writer.PutStoredAsync(raw, new byte[ChunkFile.MaxEncodedLength(raw.Length)], default).AsTask())));
        Assert.Single(results.Distinct());
        Assert.Equal(1, writer.NewChunks);
        Assert.Equal(15, writer.Reused);
        Assert.Equal(ChunkId.FromBytes(SHA256.HashData(backend.Files[ArchiveLayout.ChunkPath(results[0].Id)])), results[0].Stored);
    }
}

/// <summary>A store that fails every write, as a full disk does.</summary>
internal sealed class FullBackend : Storage.Backends.IArchiveBackend
{
    public string Location => "full";
    public bool IsWritable => true;
    public Task<Storage.Backends.BackendObject?> TryReadAsync(ObjectHandle handle, Storage.Backends.ReadHints hints, CancellationToken ct) =>
        Task.FromResult<Storage.Backends.BackendObject?>(null);
    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        Task.FromException(new IOException("No space left on device"));
    public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => Task.FromResult(false);
    public IAsyncEnumerable<Storage.Backends.BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => throw new NotSupportedException();
    public Task DeleteAsync(string path, CancellationToken ct) => Task.CompletedTask;
}
