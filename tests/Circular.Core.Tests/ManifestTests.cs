using System.Buffers.Binary;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;

namespace Circular.Core.Tests;

public class ManifestTests
{
    private static Manifest Sample(long imageSize = 1_000_000, int chunkSize = 256 * 1024)
    {
        long n = Manifest.BlockCount(imageSize, chunkSize);
        var blocks = new ChunkId[n];
        for (int i = 0; i < n; i++) blocks[i] = i % 2 == 0 ? ChunkId.Compute(BitConverter.GetBytes(i)) : ChunkId.Zero;
        var meta = new ManifestMetadata { Image = "os", Version = 3, Created = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), Message = "hi", Parent = 2, Codec = "zstd" };
        return new Manifest(meta, chunkSize, imageSize, blocks);
    }

    [Fact]
    public void Parse_ofSerialize_roundTrips()
    {
        var m = Sample();
        var back = Manifest.Parse(m.Serialize(), "os@3");
        Assert.Equal(m.Metadata, back.Metadata);
        Assert.Equal(m.ChunkSize, back.ChunkSize);
        Assert.Equal(m.ImageSize, back.ImageSize);
        Assert.Equal(m.Blocks, back.Blocks);
    }

    [Fact]
    public void BlockLength_lastBlockOfOddSize_isShort()
    {
        var m = Sample(1_000_000, 256 * 1024);
        Assert.Equal(4, m.Blocks.Length);
        Assert.Equal(256 * 1024, m.BlockLength(0));
        Assert.Equal(1_000_000 - 3 * 256 * 1024, m.BlockLength(3));
    }

    [Fact]
    public void ReferencedChunks_skipsZerosAndDuplicates()
    {
        var a = ChunkId.Compute("a"u8);
        var meta = new ManifestMetadata { Image = "x", Version = 1, Created = DateTimeOffset.UnixEpoch };
        var m = new Manifest(meta, 65536, 4 * 65536, [a, ChunkId.Zero, a, ChunkId.Compute("b"u8)]);
        Assert.Equal(2, m.ReferencedChunks().Count());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    [InlineData(100)]
    public void Parse_truncated_throwsArchiveFormat(int cut)
    {
        byte[] data = Sample().Serialize();
        var e = Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(data[..^cut], "os@3"));
        Assert.Contains("os@3", e.Message);
    }

    [Fact]
    public void Parse_flippedBlockByte_throwsChecksumMismatch()
    {
        byte[] data = Sample().Serialize();
        data[^40] ^= 1;
        var e = Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(data, "os@3"));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void Parse_unknownFormatVersion_namesTheVersion()
    {
        byte[] data = Sample().Serialize();
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(8), 9);
        var e = Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(data, "os@3"));
        Assert.Contains("format version 9, too new", e.Message);
    }

    [Fact]
    public void Parse_badMagic_throwsArchiveFormat()
    {
        byte[] data = Sample().Serialize();
        data[0] = (byte)'X';
        Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(data, "os@3"));
    }

    [Fact]
    public void Parse_blockCountDisagreesWithSize_throwsArchiveFormat()
    {
        byte[] data = Sample().Serialize();
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16), 10_000_000);
        Assert.Throws<ArchiveFormatException>(() => Manifest.Parse(data, "os@3"));
    }

    [Fact]
    public void Parse_emptyInput_throwsArchiveFormat()
    {
        Assert.Throws<ArchiveFormatException>(() => Manifest.Parse([], "os@3"));
    }

    [Fact]
    public void Constructor_blockCountMismatch_throws()
    {
        var meta = new ManifestMetadata { Image = "x", Version = 1, Created = DateTimeOffset.UnixEpoch };
        Assert.Throws<ArgumentException>(() => new Manifest(meta, 65536, 65537, [ChunkId.Zero]));
    }

    [Fact]
    public void Digest_changesWithContent()
    {
        byte[] a = Sample().Serialize();
        byte[] b = Sample(2_000_000).Serialize();
        Assert.Equal(64, Manifest.Digest(a).Length);
        Assert.NotEqual(Manifest.Digest(a), Manifest.Digest(b));
    }
}
