using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Core.Tests;

public class ByteSizeTests
{
    [Theory]
    [InlineData("4096", 4096)]
    [InlineData("256K", 256 * 1024)]
    [InlineData("256k", 256 * 1024)]
    [InlineData("256KiB", 256 * 1024)]
    [InlineData("1M", 1 << 20)]
    [InlineData("4MB", 4 << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData(" 64K ", 64 * 1024)]
    public void Parse_validSize_returnsBytes(string text, long expected)
    {
        Assert.Equal(expected, ByteSize.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("K")]
    [InlineData("abc")]
    [InlineData("-1K")]
    [InlineData("12Q")]
    [InlineData("1e400")]
    public void Parse_invalid_throwsUsage(string text)
    {
        Assert.Throws<UsageException>(() => ByteSize.Parse(text));
    }

    [Theory]
    [InlineData(512, "512 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(1L << 30, "1.0 GiB")]
    public void Format_picksBinaryUnit(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSize.Format(bytes));
    }

    [Theory]
    [InlineData("64K", 65536)]
    [InlineData("256K", 262144)]
    [InlineData("1M", 1048576)]
    [InlineData("4M", 4194304)]
    public void ParseChunkSize_powerOfTwoInRange_isAccepted(string text, int expected)
    {
        Assert.Equal(expected, ChunkSizes.ParseChunkSize(text));
    }

    [Theory]
    [InlineData("300K")]
    [InlineData("32K")]
    [InlineData("8M")]
    [InlineData("0")]
    [InlineData("100G")]
    [InlineData("65537")]
    public void ParseChunkSize_invalid_throwsUsage(string text)
    {
        var e = Assert.Throws<UsageException>(() => ChunkSizes.ParseChunkSize(text));
        Assert.Contains("power of two", e.Message);
    }

    [Theory]
    [InlineData("zstd", ChunkCodec.Zstd)]
    [InlineData("ZLIB", ChunkCodec.Zlib)]
    [InlineData("none", ChunkCodec.None)]
    public void CodecParse_knownName_returnsCodec(string name, ChunkCodec codec)
    {
        Assert.Equal(codec, ChunkCodecNames.Parse(name));
        Assert.Equal(name.ToLowerInvariant(), codec.Name());
    }

    [Fact]
    public void CodecParse_unknownName_throwsUsage()
    {
        Assert.Throws<UsageException>(() => ChunkCodecNames.Parse("lz4"));
    }
}
