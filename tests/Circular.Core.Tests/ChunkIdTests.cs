using System.Security.Cryptography;
using Circular.Core.Chunks;

namespace Circular.Core.Tests;

public class ChunkIdTests
{
    [Fact]
    public void Compute_matchesSha256()
    {
        byte[] data = "hello circular"u8.ToArray();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), ChunkId.Compute(data).ToHex());
    }

    [Fact]
    public void Parse_ofToHex_roundTrips()
    {
        var id = ChunkId.Compute("x"u8);
        string hex = id.ToHex();
        Assert.Equal(64, hex.Length);
        Assert.Equal(id, ChunkId.Parse(hex));
        Assert.Equal(id, ChunkId.FromBytes(id.ToArray()));
        Assert.Equal(hex[..12], id.Short);
    }

    [Fact]
    public void Parse_upperCaseHex_isAccepted()
    {
        var id = ChunkId.Compute("y"u8);
        Assert.Equal(id, ChunkId.Parse(id.ToHex().ToUpperInvariant()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("00000000000000000000000000000000000000000000000000000000000000000")]
    public void TryParse_malformed_returnsFalse(string hex)
    {
        Assert.False(ChunkId.TryParse(hex, out _));
        Assert.Throws<FormatException>(() => ChunkId.Parse(hex));
    }

    [Fact]
    public void Zero_isZeroAndDiffersFromHashes()
    {
        Assert.True(ChunkId.Zero.IsZero);
        Assert.False(ChunkId.Compute(new byte[16]).IsZero);
        Assert.NotEqual(ChunkId.Zero, ChunkId.Compute(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void CompareTo_ordersLikeHexStrings()
    {
        var ids = Enumerable.Range(0, 50).Select(i => ChunkId.Compute(BitConverter.GetBytes(i))).ToList();
        var byId = ids.Order().Select(i => i.ToHex()).ToList();
        var byHex = ids.Select(i => i.ToHex()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(byHex, byId);
    }

    [Fact]
    public void FromBytes_wrongLength_throws()
    {
        Assert.Throws<ArgumentException>(() => ChunkId.FromBytes(new byte[31]));
    }
}
