using System.Buffers.Binary;
using Circular.Imaging.Images;

namespace Circular.Nbd.Tests;

public sealed class BlockStatusEncoderTests
{
    private const long Size = 1L << 40; // 1 TiB: descriptor lengths must be capped at u32

    private static List<(uint Length, uint Flags)> Encode(Extent[] extents, long offset, long length, bool reqOne, int capacity = 64, long size = Size)
    {
        byte[] buffer = new byte[capacity * 8];
        int count = BlockStatusEncoder.Encode(extents, offset, length, size, reqOne, buffer);
        var result = new List<(uint, uint)>();
        for (int i = 0; i < count; i++)
            result.Add((BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(i * 8)), BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(i * 8 + 4))));
        return result;
    }

    [Fact]
    public void Encode_merges_adjacent_extents_of_the_same_kind()
    {
        Extent[] extents = [new(0, 100, false), new(100, 50, false), new(150, 50, true), new(200, 10, true), new(210, 90, false)];
        Assert.Equal([(150u, 0u), (60u, 3u), (90u, 0u)], Encode(extents, 0, 300, reqOne: false));
    }

    [Fact]
    public void Encode_lets_the_last_extent_run_past_the_request_but_not_the_export()
    {
        Extent[] extents = [new(0, 100, false), new(100, 1000, true)];
        Assert.Equal([(100u, 0u), (1000u, 3u)], Encode(extents, 0, 150, reqOne: false));
        Assert.Equal([(100u, 0u), (400u, 3u)], Encode(extents, 0, 150, reqOne: false, size: 500));
    }

    [Fact]
    public void Encode_req_one_returns_one_extent_no_longer_than_requested()
    {
        Extent[] extents = [new(0, 100, false), new(100, 50, false), new(150, 1000, true)];
        Assert.Equal([(120u, 0u)], Encode(extents, 0, 120, reqOne: true));
        Assert.Equal([(150u, 0u)], Encode(extents, 0, 1000, reqOne: true));
    }

    [Fact]
    public void Encode_caps_huge_extents_at_a_u32_length()
    {
        Extent[] extents = [new(0, Size, true)];
        Assert.Equal([(BlockStatusEncoder.MaxDescriptorLength, 3u)], Encode(extents, 0, uint.MaxValue, reqOne: false));
    }

    [Fact]
    public void Encode_stops_at_capacity()
    {
        var extents = new Extent[100];
        for (int i = 0; i < extents.Length; i++)
            extents[i] = new Extent(i * 10, 10, i % 2 == 0);
        Assert.Equal(4, Encode(extents, 0, 1000, reqOne: false, capacity: 4).Count);
    }

    [Fact]
    public void Encode_without_usable_extents_reports_data()
    {
        Assert.Equal([(512u, 0u)], Encode([], 4096, 512, reqOne: false));
        // A gap at the start breaks the contract; "data" is still a truthful answer.
        Assert.Equal([(512u, 0u)], Encode([new Extent(5000, 100, true)], 4096, 512, reqOne: false));
    }

    [Fact]
    public void Encode_skips_extents_before_the_offset()
    {
        Extent[] extents = [new(0, 4096, false), new(4096, 4096, true)];
        Assert.Equal([(4096u, 3u)], Encode(extents, 4096, 4096, reqOne: false));
    }
}
