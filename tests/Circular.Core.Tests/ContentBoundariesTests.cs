using System.IO.Hashing;
using System.Security.Cryptography;
using Circular.Core.Chunks;

namespace Circular.Core.Tests;

/// <summary>Content-defined chunking (docs/format.md): the spec's rules, determinism, and what it is for.</summary>
public sealed class ContentBoundariesTests
{
    private const int Page = ContentBoundaries.PageSize;

    /// <summary>Pages of pseudo-random data (a SHA-256 counter stream), reproducible from the seed.</summary>
    private static byte[] Pages(int pages, int seed)
    {
        var data = new byte[pages * Page];
        Span<byte> block = stackalloc byte[36];
        for (int i = 0; i * 32 < data.Length; i++)
        {
            BitConverter.TryWriteBytes(block, seed);
            BitConverter.TryWriteBytes(block[4..], (long)i);
            SHA256.HashData(block[..12], data.AsSpan(i * 32, 32));
        }
        return data;
    }

    private static List<ImagePiece> Cut(ReadOnlySpan<byte> image, int average, params int[] splits)
    {
        var pieces = new List<ImagePiece>();
        var cutter = new ContentBoundaries(average, pieces.Add);
        int at = 0, length = image.Length;
        foreach (int s in splits.Where(s => s > 0 && s < length).Order())
        {
            cutter.Add(image[at..s]);
            at = s;
        }
        cutter.Add(image[at..]);
        cutter.Complete();
        return pieces;
    }

    /// <summary>The rules of docs/format.md written the plain way, over the whole image at once.</summary>
    private static List<ImagePiece> Reference(byte[] image, int average)
    {
        int avgPages = average / Page, min = avgPages / 4, max = avgPages * 4;
        int whole = image.Length / Page;
        bool Zero(int p) => image.AsSpan(p * Page, Page).IndexOfAnyExcept((byte)0) < 0;
        var pieces = new List<ImagePiece>();
        long start = 0;
        int pages = 0;
        void End(long end) { if (end > start) pieces.Add(new(start, end - start, false)); start = end; pages = 0; }
        for (int p = 0; p < whole;)
        {
            int run = 0;
            while (p + run < whole && Zero(p + run)) run++;
            if (run >= ContentBoundaries.ZeroRunPages)
            {
                End((long)p * Page);
                pieces.Add(new((long)p * Page, (long)run * Page, true));
                p += run;
                start = (long)p * Page;
                continue;
            }
            for (int z = 0; z < run; z++, p++) if (++pages >= max) End((long)(p + 1) * Page);
            if (p >= whole) break;
            pages++;
            ulong h = XxHash3.HashToUInt64(image.AsSpan(p * Page, Page));
            p++;
            if (pages >= max || (pages >= min && (h & (ulong)(avgPages - 1)) == (ulong)(avgPages - 1))) End((long)p * Page);
        }
        End(image.Length);
        return pieces;
    }

    private static void AssertTiles(List<ImagePiece> pieces, long size)
    {
        long at = 0;
        foreach (var p in pieces)
        {
            Assert.Equal(at, p.Offset);
            Assert.True(p.Length > 0);
            at = p.End;
        }
        Assert.Equal(size, at);
    }

    [Theory]
    [InlineData(64 << 10)]
    [InlineData(128 << 10)]
    [InlineData(256 << 10)]
    public void Cuts_follow_the_documented_rules_however_the_bytes_are_fed(int average)
    {
        // Data, a long zero run, data with short zero runs inside, a tail that is not a whole page.
        byte[] image = [.. Pages(700, 1), .. new byte[40 * Page], .. Pages(300, 2), .. new byte[5 * Page], .. Pages(200, 3), .. new byte[15 * Page], .. Pages(9, 4)[..(3 * Page + 100)]];
        var expected = Reference(image, average);
        AssertTiles(expected, image.Length);
        Assert.Equal(expected, Cut(image, average));
        Assert.Equal(expected, Cut(image, average, 4096, 8192, 400 * Page, 710 * Page));
        var random = new Random(average);
        for (int round = 0; round < 5; round++)
            Assert.Equal(expected, Cut(image, average, Enumerable.Range(0, 20).Select(_ => random.Next(image.Length / Page) * Page).Distinct().ToArray()));
    }

    [Fact]
    public void Sizes_stay_within_the_limits_and_average_near_the_target()
    {
        const int average = 128 << 10;
        byte[] image = Pages(8192, 7); // 32 MiB
        var pieces = Cut(image, average);
        AssertTiles(pieces, image.Length);
        Assert.All(pieces[..^1], p => Assert.InRange(p.Length, average / 4, average * 4));
        double mean = pieces.Average(p => (double)p.Length);
        Assert.InRange(mean, average * 0.9, average * 1.6); // the minimum adds a quarter to the boundaries' spacing
    }

    [Fact]
    public void Zero_runs_of_16_pages_or_more_are_pieces_of_their_own_and_shorter_ones_are_not()
    {
        byte[] image = [.. Pages(50, 1), .. new byte[16 * Page], .. Pages(50, 2), .. new byte[15 * Page], .. Pages(50, 3)];
        var pieces = Cut(image, 64 << 10);
        var zero = Assert.Single(pieces, p => p.IsZero);
        Assert.Equal(new ImagePiece(50L * Page, 16L * Page, true), zero);
        // An all-zero image is one zero piece; an empty one is nothing.
        Assert.Equal([new ImagePiece(0, 1 << 20, true)], Cut(new byte[1 << 20], 64 << 10));
        Assert.Empty(Cut([], 64 << 10));
    }

    [Fact]
    public void Known_vector()
    {
        // Pins the cut points of a fixed input: another implementation of docs/format.md must produce these.
        var ends = Cut(Pages(512, 42), 64 << 10).Select(p => p.End / Page).ToArray();
        Assert.True(KnownEnds.SequenceEqual(ends), "cut after pages " + string.Join(", ", ends));
    }

    private static readonly long[] KnownEnds = [21, 45, 58, 78, 85, 116, 180, 244, 289, 312, 355, 373, 380, 398, 418, 424, 429, 454, 458, 475, 485, 491, 510, 512];

    [Fact]
    public void Data_moved_to_other_pages_is_cut_into_the_same_chunks()
    {
        // A rebuilt file system: the same files, most of them moved by a few pages (one file added early on).
        byte[] before = [.. Pages(2000, 1), .. Pages(3000, 2)];
        byte[] after = [.. Pages(2000, 1)[..(700 * Page)], .. Pages(37, 9), .. Pages(2000, 1)[(700 * Page)..], .. Pages(3000, 2)];
        const int average = 128 << 10;
        var known = Cut(before, average).Select(p => Convert.ToHexString(SHA256.HashData(before.AsSpan((int)p.Offset, (int)p.Length)))).ToHashSet();
        long shared = Cut(after, average).Where(p => known.Contains(Convert.ToHexString(SHA256.HashData(after.AsSpan((int)p.Offset, (int)p.Length))))).Sum(p => p.Length);
        Assert.True(shared > after.Length * 0.95, $"only {shared * 100 / after.Length}% of the moved data reused");
    }

    [Fact]
    public void Bad_averages_and_misuse_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContentBoundaries(100_000, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContentBoundaries(8 << 10, _ => { }));
        var c = new ContentBoundaries(64 << 10, _ => { });
        c.Add(new byte[100]);
        Assert.Throws<InvalidOperationException>(() => c.Add(new byte[4096]));
    }
}
