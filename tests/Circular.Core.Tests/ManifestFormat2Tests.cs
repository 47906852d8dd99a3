using System.Buffers.Binary;
using System.Security.Cryptography;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;

namespace Circular.Core.Tests;

/// <summary>Manifests of format 2: variable entries with stored-file digests, and format 1 still read.</summary>
public sealed class ManifestFormat2Tests
{
    private static readonly ManifestMetadata Meta = new() { Image = "os", Version = 4, Created = new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), Codec = "zstd" };

    private static ChunkId Id(int i) => ChunkId.Compute(BitConverter.GetBytes(i));
    private static ChunkId Stored(int i) => ChunkId.Compute(BitConverter.GetBytes(-i));

    private static Manifest Content() => new(Meta, Chunking.Content, 64 << 10,
        ChunkMap.Variable([Id(1), ChunkId.Zero, Id(2), Id(3)], [20480, 20480 + (8 << 20), 20480 + (8 << 20) + 65536, 20480 + (8 << 20) + 65536 + 1000],
            [Stored(1), ChunkId.Zero, Stored(2), Stored(3)]));

    [Fact]
    public void Content_chunked_manifests_round_trip_with_every_entry_and_digest()
    {
        var m = Content();
        var back = Manifest.Parse(m.Serialize(), "os@4");
        Assert.Equal(2, back.Version);
        Assert.Equal(Chunking.Content, back.Chunking);
        Assert.Equal(64 << 10, back.ChunkSize);
        Assert.Equal(m.ImageSize, back.ImageSize);
        Assert.Equal(m.Metadata, back.Metadata);
        Assert.Equal(m.Map.Count, back.Map.Count);
        for (int i = 0; i < m.Map.Count; i++)
        {
            Assert.Equal(m.Map.End(i), back.Map.End(i));
            Assert.Equal(m.Map.Id(i), back.Map.Id(i));
            Assert.Equal(m.Map.StoredDigest(i), back.Map.StoredDigest(i));
        }
        Assert.Equal([Id(1), Id(2), Id(3)], back.ReferencedChunks());
        Assert.Throws<InvalidOperationException>(() => back.Blocks); // no grid to index
        Assert.Equal(m.Serialize(), back.Serialize());
    }

    [Fact]
    public void Fixed_chunking_in_format_2_keeps_its_grid()
    {
        var m = new Manifest(Meta, Chunking.Fixed, 64 << 10, ChunkMap.Fixed([Id(1), ChunkId.Zero, Id(2)], 64 << 10, 150_000, [Stored(1), ChunkId.Zero, Stored(2)]));
        var back = Manifest.Parse(m.Serialize(), "os@4");
        Assert.True(back.Map.IsGrid);
        Assert.Equal([Id(1), ChunkId.Zero, Id(2)], back.Blocks);
        Assert.Equal(Stored(2), back.Map.StoredDigest(2));
    }

    /// <summary>Rewrites one field of a serialized manifest and fixes its checksum, so only the field's check can refuse it.</summary>
    private static byte[] Edited(byte[] file, Action<byte[]> edit)
    {
        var copy = (byte[])file.Clone();
        edit(copy);
        SHA256.HashData(copy.AsSpan(0, copy.Length - 32), copy.AsSpan(copy.Length - 32));
        return copy;
    }

    public static TheoryData<string, string> Damages() => new()
    {
        { "ends out of order", "entry 1 ends" },
        { "last end short of the image", "entries end at" },
        { "zero run with a stored digest", "a zero run has no stored file" },
        { "chunk longer than 4 MiB", "more than a chunk holds" },
        { "unknown chunking", "unknown chunking 7" },
        { "reserved field set", "reserved header fields" },
        { "average not a power of two", "chunk size" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void Damaged_entries_and_headers_are_refused_with_the_reason(string damage, string reason)
    {
        byte[] file = Content().Serialize();
        int metaLen = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(40));
        int entries = 48 + metaLen;
        byte[] bad = Edited(file, f =>
        {
            switch (damage)
            {
                case "ends out of order": BinaryPrimitives.WriteInt64LittleEndian(f.AsSpan(entries + 72), 100); break;
                case "last end short of the image": BinaryPrimitives.WriteInt64LittleEndian(f.AsSpan(24), BinaryPrimitives.ReadInt64LittleEndian(f.AsSpan(24)) + 4096); break;
                case "zero run with a stored digest": f[entries + 72 + 8 + 32] = 1; break;
                case "chunk longer than 4 MiB":
                    // The zero run (8 MiB) becomes a chunk.
                    f[entries + 72 + 8] = 1;
                    f[entries + 72 + 8 + 32] = 1;
                    break;
                case "unknown chunking": f[12] = 7; break;
                case "reserved field set": f[44] = 1; break;
                case "average not a power of two": BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(16), 100_000); break;
            }
        });
        var e = Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(bad, "os@4"));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_newer_format_is_refused_as_too_new_and_format_1_still_reads()
    {
        byte[] file = Content().Serialize();
        file[8] = 3;
        var e = Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(file, "os@4"));
        Assert.Contains("too new", e.Message, StringComparison.Ordinal);

        var v1 = new Manifest(Meta, 64 << 10, 150_000, [Id(1), ChunkId.Zero, Id(2)]);
        byte[] old = v1.Serialize();
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(old.AsSpan(8)));
        var back = Manifest.Parse(old, "os@4");
        Assert.Equal(1, back.Version);
        Assert.False(back.Map.HasStoredDigests);
        Assert.Equal(v1.Blocks, back.Blocks);
    }

    [Fact]
    public void The_size_bound_of_a_manifest_fits_format_2_entries()
    {
        Assert.True(Content().Serialize().Length <= Manifest.MaxFileLength(4));
    }
}
