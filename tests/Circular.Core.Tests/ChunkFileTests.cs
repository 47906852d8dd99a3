using System.Buffers.Binary;
using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Core.Tests;

public class ChunkFileTests
{
    private static byte[] Compressible(int length)
    {
        var data = new byte[length];
        var rng = new Random(7);
        for (int i = 0; i < length; i++) data[i] = (byte)('a' + rng.Next(4));
        return data;
    }

    private static byte[] Encode(byte[] raw, ChunkCodec codec)
    {
        var buf = new byte[ChunkFile.MaxEncodedLength(raw.Length)];
        int n = ChunkFile.Encode(raw, codec, 3, buf);
        return buf[..n];
    }

    [Theory]
    [InlineData(ChunkCodec.Zstd)]
    [InlineData(ChunkCodec.Zlib)]
    [InlineData(ChunkCodec.None)]
    public void Encode_compressibleData_roundTripsThroughDecode(ChunkCodec codec)
    {
        byte[] raw = Compressible(256 * 1024);
        byte[] file = Encode(raw, codec);
        Assert.Equal((byte)codec, file[5]);
        if (codec != ChunkCodec.None) Assert.True(file.Length < raw.Length / 2, $"{codec} did not compress: {file.Length} bytes");
        var back = new byte[raw.Length];
        Assert.Equal(raw.Length, ChunkFile.Decode(file, back));
        Assert.Equal(raw, back);
    }

    [Theory]
    [InlineData(ChunkCodec.Zstd)]
    [InlineData(ChunkCodec.Zlib)]
    public void Encode_incompressibleData_isStoredWithCodecNone(ChunkCodec codec)
    {
        var raw = new byte[64 * 1024];
        new Random(1).NextBytes(raw);
        byte[] file = Encode(raw, codec);
        Assert.Equal((byte)ChunkCodec.None, file[5]);
        Assert.Equal(ChunkFile.HeaderSize + raw.Length, file.Length);
        var back = new byte[raw.Length];
        ChunkFile.Decode(file, back);
        Assert.Equal(raw, back);
    }

    [Fact]
    public void Encode_header_hasMagicVersionAndLength()
    {
        byte[] file = Encode(Compressible(1000), ChunkCodec.Zstd);
        Assert.Equal("CCHK"u8.ToArray(), file[..4]);
        Assert.Equal(ChunkFile.FormatVersion, file[4]);
        Assert.Equal(1000, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8)));
    }

    [Fact]
    public void Decode_badMagic_throwsInvalidData()
    {
        byte[] file = Encode(Compressible(4096), ChunkCodec.Zstd);
        file[0] = (byte)'X';
        var e = Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file, new byte[4096]));
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void Decode_unknownFormatVersion_throwsInvalidData()
    {
        byte[] file = Encode(Compressible(4096), ChunkCodec.Zstd);
        file[4] = 9;
        var e = Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file, new byte[4096]));
        Assert.Contains("version 9", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(ChunkFile.MaxChunkLength + 1)]
    public void Decode_declaredLengthOutOfRange_throwsInvalidData(int length)
    {
        byte[] file = Encode(Compressible(4096), ChunkCodec.Zstd);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(8), length);
        Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file, new byte[ChunkFile.MaxChunkLength + 8]));
    }

    [Theory]
    [InlineData(ChunkCodec.Zstd)]
    [InlineData(ChunkCodec.Zlib)]
    public void Decode_declaredLengthDiffersFromPayload_throwsInvalidData(ChunkCodec codec)
    {
        byte[] file = Encode(Compressible(4096), codec);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(8), 4000);
        Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file, new byte[8192]));
    }

    [Fact]
    public void Decode_storedPayloadShorterThanDeclared_throwsInvalidData()
    {
        var raw = new byte[4096];
        new Random(2).NextBytes(raw);
        byte[] file = Encode(raw, ChunkCodec.None);
        Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file[..^1], new byte[4096]));
    }

    [Fact]
    public void Decode_shorterThanHeader_throwsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => ChunkFile.Decode("CCHK"u8, new byte[16]));
    }

    [Fact]
    public void Decode_unknownCodec_throwsInvalidData()
    {
        byte[] file = Encode(Compressible(4096), ChunkCodec.Zstd);
        file[5] = 7;
        var e = Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file, new byte[4096]));
        Assert.Contains("codec", e.Message);
    }

    [Theory]
    [InlineData(ChunkCodec.Zstd)]
    [InlineData(ChunkCodec.Zlib)]
    public void Decode_garbledPayload_throwsInvalidData(ChunkCodec codec)
    {
        byte[] file = Encode(Compressible(65536), codec);
        for (int i = ChunkFile.HeaderSize; i < file.Length; i += 3) file[i] ^= 0x5a;
        Assert.Throws<InvalidDataException>(() => ChunkFile.Decode(file, new byte[65536]));
    }

    [Fact]
    public void DecodeVerified_contentOfAnotherChunk_throwsChunkIntegrity()
    {
        byte[] raw = Compressible(4096);
        byte[] file = Encode(raw, ChunkCodec.Zstd);
        var other = ChunkId.Compute("other"u8);
        var e = Assert.Throws<ChunkIntegrityException>(() => ChunkFile.DecodeVerified(other, "test", file, new byte[4096]));
        Assert.Equal(other, e.Id);
    }

    [Fact]
    public void DecodeVerified_matchingId_returnsLength()
    {
        byte[] raw = Compressible(4096);
        var back = new byte[4096];
        Assert.Equal(4096, ChunkFile.DecodeVerified(ChunkId.Compute(raw), "test", Encode(raw, ChunkCodec.Zlib), back));
        Assert.Equal(raw, back);
    }

    [Fact]
    public void Encode_largerThanMaxChunk_throws()
    {
        var raw = new byte[ChunkFile.MaxChunkLength + 1];
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkFile.Encode(raw, ChunkCodec.Zstd, 3, new byte[ChunkFile.MaxEncodedLength(raw.Length)]));
    }
}
