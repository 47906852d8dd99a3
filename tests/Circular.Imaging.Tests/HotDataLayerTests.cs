using System.Collections.Concurrent;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Imaging.HotData;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Imaging.Tests;

public class HotDataLayerTests
{
    private const int Cs = 64 * 1024;

    /// <summary>An archive in memory: image "os" version 1 of 12 chunks, with the given profile pushed.</summary>
    private static async Task<(ArchiveReader Reader, VersionEntry Entry, Manifest Manifest, MemoryBackend Backend)> ArchiveAsync(BootProfile? profile)
    {
        var backend = new MemoryBackend();
        var content = new byte[12 * Cs];
        new Random(11).NextBytes(content);
        var writer = new ChunkWriter(backend, ChunkCodec.Zstd, 3);
        var blocks = new ChunkId[12];
        byte[] scratch = new byte[ChunkFile.MaxEncodedLength(Cs)];
        for (int b = 0; b < 12; b++) blocks[b] = await writer.PutAsync(content.AsMemory(b * Cs, Cs), scratch, default);
        var manifest = new Manifest(new ManifestMetadata { Image = "os", Version = 1, Created = DateTimeOffset.UtcNow }, Cs, content.Length, blocks);
        byte[] m = manifest.Serialize();
        await backend.WriteAsync(ArchiveLayout.ConfigPath, new ArchiveConfig { ChunkSize = Cs }.Serialize(), default);
        await backend.WriteAsync(ArchiveLayout.ManifestPath("os", 1), m, default);
        var entry = new VersionEntry { Version = 1, ManifestDigest = Manifest.Digest(m), Size = content.Length, ChunkSize = Cs, Blocks = (content.Length + Cs - 1) / Cs };
        if (profile is not null)
        {
            byte[] p = (profile with { ManifestDigest = entry.ManifestDigest }).Serialize();
            entry = entry with { Profile = BootProfile.Digest(p) };
            await backend.WriteAsync(ArchiveLayout.ProfilePath("os", entry.Profile), p, default);
        }
        await backend.WriteAsync(ArchiveLayout.RefsPath("os"), new ImageRefs { Image = "os", Latest = 1, Versions = [entry] }.Serialize(), default);
        return (await ArchiveReader.OpenAsync(backend, default), entry, manifest, backend);
    }

    private static BootProfile Profile(params (long Offset, long Length)[] reads) => new() {
        Image = "os",
        Version = 1,
        ManifestDigest = "",
        Size = 12 * Cs,
        ChunkSize = Cs,
        Reads = reads.Select((r, i) => new long[] { i, r.Offset, r.Length }).ToList(),
    };

    /// <summary>Records the order chunks are asked for.</summary>
    private sealed class OrderedSource(IChunkSource inner) : IChunkSource
    {
        public readonly ConcurrentQueue<ChunkId> Order = new();

        public ValueTask<int> ReadAsync(ChunkRef chunk, Memory<byte> destination, CancellationToken ct)
        {
            Order.Enqueue(chunk.Id);
            return inner.ReadAsync(chunk, destination, ct);
        }
    }

    [Fact]
    public async Task Profiled_version_prefetches_its_chunks_in_first_read_order_once_each()
    {
        // Chunks 7, 2 (twice, across a boundary into 3), 10.
        var (reader, entry, manifest, backend) = await ArchiveAsync(Profile((7 * Cs, 4096), (2 * Cs + Cs - 4096, 8192), (2 * Cs, 4096), (10 * Cs, 4096)));
        var source = new OrderedSource(new BackendChunkSource(backend));
        await using var layer = new HotDataLayer(reader, source, new HotDataOptions { Prefetcher = new() { InitialConcurrency = 1, MaxConcurrency = 1 } });
        var image = await layer.OpenAsync("os", entry, new ChunkedImage(manifest, source, "os@1"));

        var prefetcher = Assert.Single(layer.Prefetchers);
        await prefetcher.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([manifest.Blocks[7], manifest.Blocks[2], manifest.Blocks[3], manifest.Blocks[10]], source.Order);
        Assert.Equal(4, prefetcher.Done);
        Assert.Same(image, await layer.OpenAsync("os", entry, new ChunkedImage(manifest, source, "os@1"))); // one set of layers per version
    }

    [Fact]
    public async Task Version_without_profile_is_the_plain_chunked_image()
    {
        var (reader, entry, manifest, backend) = await ArchiveAsync(null);
        var chunked = new ChunkedImage(manifest, new BackendChunkSource(backend), "os@1");
        await using var layer = new HotDataLayer(reader, new BackendChunkSource(backend), new HotDataOptions());
        Assert.Same(chunked, await layer.OpenAsync("os", entry, chunked));
        Assert.Empty(layer.Prefetchers);
    }

    [Fact]
    public async Task Corrupt_profile_is_ignored_with_a_warning_and_the_version_still_reads()
    {
        var (reader, entry, manifest, backend) = await ArchiveAsync(Profile((0, 4096)));
        backend.Files[ArchiveLayout.ProfilePath("os", entry.Profile!)] = "{}"u8.ToArray();
        var log = new TestLog();
        await using var layer = new HotDataLayer(reader, new BackendChunkSource(backend), new HotDataOptions { Log = log });
        var image = await layer.OpenAsync("os", entry, new ChunkedImage(manifest, new BackendChunkSource(backend), "os@1"));
        Assert.Empty(layer.Prefetchers);
        Assert.Contains("not using the profile of os@1", log.ToString());
        var buf = new byte[4096];
        await image.ReadAsync(0, buf, default);
    }

    [Fact]
    public async Task Layers_of_versions_opened_earlier_are_let_go_beyond_the_budget_and_rebuilt_when_opened_again()
    {
        var (reader, entry, manifest, backend) = await ArchiveAsync(Profile((0, 4096), (5 * Cs, 4096)));
        var source = new BackendChunkSource(backend);
        long one = manifest.Blocks.Length * ChunkId.Size;
        var other = entry with { ManifestDigest = "sha256:" + new string('0', 64), Profile = null }; // another version, no hot data
        ChunkedImage Chunked() => new(manifest, source, "os@1");

        // Room for two versions: the first stays, its layers are the ones handed out again.
        await using (var roomy = new HotDataLayer(reader, source, new HotDataOptions { MaxRetainedBytes = 2 * one }))
        {
            var first = await roomy.OpenAsync("os", entry, Chunked());
            await roomy.OpenAsync("os", other, Chunked());
            Assert.Same(first, await roomy.OpenAsync("os", entry, Chunked()));
            Assert.Single(roomy.Prefetchers);
            Assert.Equal(2 * one, roomy.RetainedBytes);
        }

        // Room for one: opening another version lets the first go (its prefetch ends), and it is built anew later.
        await using var tight = new HotDataLayer(reader, source, new HotDataOptions { MaxRetainedBytes = one });
        var v1 = await tight.OpenAsync("os", entry, Chunked());
        var prefetcher = Assert.Single(tight.Prefetchers);
        var plain = Chunked();
        Assert.Same(plain, await tight.OpenAsync("os", other, plain));
        Assert.Empty(tight.Prefetchers);
        Assert.Equal(one, tight.RetainedBytes);
        await prefetcher.Completion.WaitAsync(TimeSpan.FromSeconds(30)); // stopped, not left running
        var again = await tight.OpenAsync("os", entry, Chunked());
        Assert.NotSame(v1, again);
        Assert.Single(tight.Prefetchers);
        var buf = new byte[4096];
        await v1.ReadAsync(5 * Cs, buf, default); // an open that still holds the old layers keeps reading
        await again.ReadAsync(5 * Cs, buf, default);
    }
}
