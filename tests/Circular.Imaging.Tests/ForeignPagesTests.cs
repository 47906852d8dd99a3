using System.Security.Cryptography;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Imaging.HotData;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Imaging.Tests;

/// <summary>
/// A client that booted version 1 from its packs moves to version 2, a rebuild that holds the same chunks one chunk
/// further on: version 2's profiled pages are found in version 1's cached packs, so version 2's pack is not fetched,
/// only its one new chunk.
/// </summary>
public sealed class ForeignPagesTests
{
    private const int Cs = 64 * 1024;
    private const int Page = BootProfile.PageSize;

    /// <summary>Everything but the archive's mutable objects is "on local disk", except version 2's packs.</summary>
    private sealed class CachedExceptV2Packs(IArchiveBackend inner, HashSet<string> v2Packs) : IArchiveBackend
    {
        public int PackReads;
        public int ChunkReads;
        public int RefsReads;
        public string Location => inner.Location;
        public bool IsWritable => false;
        public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
        {
            if (handle.Kind == ObjectKind.Pack && v2Packs.Contains(handle.Path)) Interlocked.Increment(ref PackReads);
            if (handle.Kind == ObjectKind.Chunk) Interlocked.Increment(ref ChunkReads);
            if (handle.Kind == ObjectKind.Refs) Interlocked.Increment(ref RefsReads);
            return inner.TryReadAsync(handle, hints, ct);
        }
        public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => inner.WriteAsync(handle, data, ct);
        public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
        public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => inner.DeleteAsync(path, ct);
        public bool HoldsLocally(ObjectHandle handle) => handle.IsImmutable && !v2Packs.Contains(handle.Path);
    }

    /// <summary>Version 1's boot reads; version 2's (shift one chunk) the same data one chunk further on, and a page of its new chunk.</summary>
    private static BootProfile Profile(long size, long shift) => new() {
        Image = "os",
        Version = 1,
        ManifestDigest = "",
        Size = size,
        ChunkSize = Cs,
        Reads = [[0, 5 * Cs + shift, 3 * Page], [1, shift + Cs - Page, 2 * Page], [2, 9 * Cs + shift, Cs], .. (shift > 0 ? new[] { new long[] { 3, Page, Page } } : [])],
    };

    [Fact]
    public async Task Pages_of_shared_chunks_are_read_from_the_other_versions_cached_packs()
    {
        var memory = new MemoryBackend();
        var writer = new ChunkWriter(memory, ChunkCodec.Zstd, 3);
        byte[] scratch = new byte[ChunkFile.MaxEncodedLength(Cs)];
        var v1 = new byte[12 * Cs];
        new Random(5).NextBytes(v1);
        var v2 = new byte[12 * Cs];
        new Random(6).NextBytes(v2.AsSpan(0, Cs)); // a new first chunk, then version 1's first 11 chunks
        v1.AsSpan(0, 11 * Cs).CopyTo(v2.AsSpan(Cs));
        var entries = new List<VersionEntry>();
        var indexes = new List<PackIndex>();
        foreach (var (content, version) in new[] { (v1, 1), (v2, 2) })
        {
            var blocks = new ChunkId[12];
            for (int b = 0; b < 12; b++) blocks[b] = await writer.PutAsync(content.AsMemory(b * Cs, Cs), scratch, default);
            var manifest = new Manifest(new ManifestMetadata { Image = "os", Version = version, Created = DateTimeOffset.UtcNow }, Cs, content.Length, blocks);
            byte[] m = manifest.Serialize();
            await memory.WriteAsync(ArchiveLayout.ManifestPath("os", version), m, default);
            string digest = Manifest.Digest(m);
            // Version 2's boot reads the same data as version 1's, one chunk further on.
            var profile = Profile(content.Length, (version - 1) * Cs) with { Version = version, ManifestDigest = digest };
            var index = await new PackBuilder(new ChunkedImage(manifest, new BackendChunkSource(memory), $"os@{version}"), 2 * Cs)
                .BuildAsync(profile, digest, "p", HotDataTests.StorePacksIn(memory), default);
            byte[] ix = index.Serialize();
            string ixDigest = Convert.ToHexStringLower(SHA256.HashData(ix));
            await memory.WriteAsync(ArchiveLayout.PackIndexPath("os", ixDigest), ix, default);
            entries.Add(new VersionEntry { Version = version, ManifestDigest = digest, Size = content.Length, ChunkSize = Cs, Blocks = 12, Packs = ixDigest });
            indexes.Add(index);
        }
        await memory.WriteAsync(ArchiveLayout.ConfigPath, new ArchiveConfig { ChunkSize = Cs }.Serialize(), default);
        await memory.WriteAsync(ArchiveLayout.RefsPath("os"), new ImageRefs { Image = "os", Latest = 2, Versions = entries }.Serialize(), default);
        var backend = new CachedExceptV2Packs(memory, indexes[1].Packs.Select(p => ArchiveLayout.PackPath(p.ChunkId)).ToHashSet());
        var reader = await ArchiveReader.OpenAsync(backend, default);
        var m2 = await reader.GetManifestAsync("os", entries[1], default);

        var foreign = await ForeignPages.FindAsync(reader, "os", entries[1], default);
        Assert.Equal(indexes[0].Entries.Sum(r => r.Length) / Page, foreign.Count); // every page of version 1's packs
        // Given the refs the version was resolved from (as the catalog does), it finds the same pages without reading them
        // again: over HTTP, a round trip before the version opens.
        var refs = await reader.TryGetRefsAsync("os", default);
        int refsReads = backend.RefsReads;
        Assert.Equal(foreign.Count, (await ForeignPages.FindAsync(reader, "os", entries[1], default, refs)).Count);
        Assert.Equal(refsReads, backend.RefsReads);
        await ForeignPages.FindAsync(reader, "os", entries[1], default);
        Assert.Equal(refsReads + 1, backend.RefsReads); // without them, it reads the refs

        var source = new BackendChunkSource(backend);
        var unused = PackChoice.Unneeded(indexes[1], m2.Map, source, backend, foreign);
        Assert.Equal(Enumerable.Range(0, indexes[1].Packs.Count), unused.Order());

        var packed = new PackedImage(new ChunkedImage(m2, source, "os@2"), new PackStore(backend, indexes[1]), unused, foreign);
        foreach (var read in Profile(v2.Length, Cs).Entries)
        {
            Assert.Equal(read.Offset >= Cs, packed.Covers(read.Offset, read.Length)); // all but the page of the new chunk
            var buf = new byte[read.Length];
            await packed.ReadAsync(read.Offset, buf, default);
            Assert.True(v2.AsSpan((int)read.Offset, (int)read.Length).SequenceEqual(buf));
        }
        Assert.Equal(0, backend.PackReads);
        Assert.Equal(1, backend.ChunkReads); // the new chunk: cheaper than version 2's pack, which repeats version 1's pages

        // Everything else (the new chunk, pages no pack holds) still reads the version's own bytes.
        var all = new byte[v2.Length];
        await packed.ReadAsync(0, all, default);
        Assert.True(v2.AsSpan().SequenceEqual(all));
        Assert.Equal(0, backend.PackReads);
    }
}
