using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Imaging.Images;

namespace Circular.Imaging.Tests;

/// <summary>Copy pieces of `cat` end on chunk boundaries, so no chunk is read in two parts.</summary>
public sealed class ImageCopyPieceTests
{
    private static List<(long Start, long End)> Pieces(ChunkMap? map, long size)
    {
        var pieces = new List<(long, long)>();
        for (long p = 0, end; p < size; p = end)
        {
            end = ImageCopy.PieceEnd(map, p, size);
            Assert.InRange(end - p, 1, ImageCopy.Piece);
            pieces.Add((p, end));
        }
        return pieces;
    }

    [Theory]
    [InlineData(64 << 10, 1)]
    [InlineData(256 << 10, 2)]
    [InlineData(3 << 20, 3)] // chunks up to 3x a piece: those are split, nothing else
    public void Variable_chunks_are_never_split_unless_larger_than_a_piece(int maxChunk, int seed)
    {
        var rng = new Random(seed);
        var ends = new List<long>();
        long pos = 0;
        while (pos < (64L << 20)) ends.Add(pos += 4096 * rng.Next(1, maxChunk / 4096 + 1));
        long size = ends[^1];
        var map = ChunkMap.Variable(ends.Select((_, i) => ChunkId.Compute(BitConverter.GetBytes(i))).ToArray(), [.. ends]);
        var boundaries = ends.ToHashSet();
        var pieces = Pieces(map, size);
        foreach (var (_, end) in pieces.SkipLast(1))
        {
            if (boundaries.Contains(end)) continue;
            int holder = map.IndexOf(end);
            Assert.True(map.Length(holder) > ImageCopy.Piece, $"piece end {end} splits chunk {holder} of {map.Length(holder)} bytes");
        }
        // Pieces stay large: fewer than twice as many as on the 1 MiB grid.
        Assert.True(pieces.Count < 2 * (size / ImageCopy.Piece + 1), $"{pieces.Count} pieces for {size} bytes");
    }

    [Fact]
    public void Fixed_chunks_keep_the_one_MiB_grid()
    {
        long size = (10L << 20) + 12345;
        var map = ChunkMap.Fixed(new ChunkId[(int)(size / (256 << 10)) + 1], 256 << 10, size);
        var pieces = Pieces(map, size);
        Assert.Equal(11, pieces.Count);
        Assert.All(pieces.SkipLast(1), p => Assert.Equal(0, p.End % ImageCopy.Piece));
        Assert.Equal(Pieces(null, size), pieces);
        // A range that starts off the grid gets to the grid first.
        Assert.Equal(ImageCopy.Piece, ImageCopy.PieceEnd(map, 4096, size));
    }
}
