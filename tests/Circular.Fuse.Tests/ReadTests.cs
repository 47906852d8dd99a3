using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

public sealed class ReadTests
{
    [Theory]
    [InlineData("os/1.img", 1)]
    [InlineData("os/2.img", 2)]
    [InlineData("os/latest.img", 2)]
    [InlineData("os/stable.img", 1)]
    public async Task Whole_file_reads_match_the_backing_bytes(string file, int version)
    {
        await using var m = await TestMount.StartAsync();

        Assert.Equal(m.Catalog.Bytes(version), Timed.Bounded(() => File.ReadAllBytes(m.PathOf(file))));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 4095)]
    [InlineData(4097, 10_000)]
    [InlineData(65_535, 300_001)]
    [InlineData(1_000_000, 48_576)]
    public async Task Unaligned_reads_match_the_backing_bytes(long offset, int length)
    {
        await using var m = await TestMount.StartAsync();
        var expected = m.Catalog.Bytes(1).AsSpan((int)offset, length).ToArray();

        Assert.Equal(expected, Timed.Bounded(() => ReadAt(m.PathOf("os/1.img"), offset, length)));
    }

    [Fact]
    public async Task Reads_at_the_end_are_short_and_past_the_end_empty()
    {
        await using var m = await TestMount.StartAsync();
        var bytes = m.Catalog.Bytes(1);
        string path = m.PathOf("os/1.img");

        Assert.Equal(bytes[^100..], Timed.Bounded(() => ReadAt(path, bytes.Length - 100, 4096)));
        Assert.Empty(Timed.Bounded(() => ReadAt(path, bytes.Length, 4096)));
        Assert.Empty(Timed.Bounded(() => ReadAt(path, bytes.Length + 12345, 4096)));
    }

    [Fact]
    public async Task Dd_with_odd_block_sizes_matches()
    {
        await using var m = await TestMount.StartAsync();
        string copy = m.Temp["copy"];

        Tools.Run("dd", $"if={m.PathOf("os/2.img")}", $"of={copy}", "bs=12345", "status=none");
        Assert.Equal(m.Catalog.Bytes(2), File.ReadAllBytes(copy));
    }

    [Fact]
    public async Task Parallel_readers_get_their_own_bytes()
    {
        await using var m = await TestMount.StartAsync();
        var bytes = m.Catalog.Bytes(2);

        var readers = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
        {
            var rng = new Random(i);
            for (int n = 0; n < 50; n++)
            {
                int offset = rng.Next(bytes.Length), length = rng.Next(1, 200_000);
                int expected = Math.Min(length, bytes.Length - offset);
                var got = ReadAt(m.PathOf("os/2.img"), offset, length);
                Assert.Equal(bytes.AsSpan(offset, expected).ToArray(), got);
            }
        }));
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Handles_share_one_image_which_is_disposed_after_the_last_close()
    {
        await using var m = await TestMount.StartAsync();
        string path = m.PathOf("os/1.img");

        using (var a = Timed.Bounded(() => File.OpenRead(path)))
        using (var b = Timed.Bounded(() => File.OpenRead(path)))
        {
            Assert.Equal(1, m.Catalog.Opens);
            Assert.Equal(1, m.Catalog.OpenImages);
        }
        // RELEASE reaches the server shortly after close(2) returns.
        Timed.WaitUntil(() => m.Catalog.OpenImages == 0, TimeSpan.FromSeconds(10), "the image to be disposed");
    }

    internal static byte[] ReadAt(string path, long offset, int length)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[length];
        int total = 0;
        while (total < length)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total);
            if (n == 0) break;
            total += n;
        }
        return buffer[..total];
    }
}
