using Circular.Core.Chunks;
using Circular.Core.Manifests;

namespace Circular.Core.Tests;

public sealed class ChunkMapTests
{
    private static ChunkId Id(int i) => ChunkId.Compute([(byte)i]);

    [Fact]
    public void A_fixed_grid_maps_offsets_by_division_and_its_last_block_is_short()
    {
        var map = ChunkMap.Fixed([Id(1), ChunkId.Zero, Id(2)], 4096, 10_000);
        Assert.True(map.IsGrid);
        Assert.Equal(3, map.Count);
        Assert.Equal([0, 4096, 8192], Enumerable.Range(0, 3).Select(i => map.Offset(i)));
        Assert.Equal([4096, 4096, 1808], Enumerable.Range(0, 3).Select(i => map.Length(i)));
        Assert.Equal(0, map.IndexOf(0));
        Assert.Equal(0, map.IndexOf(4095));
        Assert.Equal(1, map.IndexOf(4096));
        Assert.Equal(2, map.IndexOf(9999));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.IndexOf(10_000));
        Assert.Throws<ArgumentException>(() => ChunkMap.Fixed([Id(1)], 4096, 10_000));
    }

    [Fact]
    public void Variable_entries_map_offsets_by_search_at_every_edge()
    {
        long[] ends = [8192, 1 << 20, (1 << 20) + 4096, (3 << 20) + 100];
        var map = ChunkMap.Variable([Id(1), ChunkId.Zero, Id(2), Id(3)], ends);
        Assert.False(map.IsGrid);
        Assert.Equal((3 << 20) + 100, map.ImageSize);
        for (int i = 0; i < ends.Length; i++)
        {
            Assert.Equal(i, map.IndexOf(map.Offset(i)));
            Assert.Equal(i, map.IndexOf(map.End(i) - 1));
        }
        Assert.Equal((2 << 20) + 100 - 4096, map.MaxChunkLength); // the zero run is longer, but never read whole
        Assert.Throws<ArgumentException>(() => ChunkMap.Variable([Id(1), Id(2)], [4096, 4096]));
        Assert.Throws<ArgumentException>(() => ChunkMap.Variable([Id(1)], [0]));
    }
}
