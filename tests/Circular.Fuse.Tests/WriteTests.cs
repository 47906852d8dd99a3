using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

public sealed class WriteTests
{
    [Fact]
    public async Task Writes_reach_the_backing_bytes()
    {
        await using var m = await TestMount.StartAsync(writable: true);
        var data = RandomData.Bytes(70_001, 42);

        Timed.Bounded(() =>
        {
            using var handle = File.OpenHandle(m.PathOf("os/2.img"), FileMode.Open, FileAccess.Write);
            RandomAccess.Write(handle, data, 12_345);
        });

        Assert.Equal(data, m.Catalog.Bytes(2).AsSpan(12_345, data.Length).ToArray());
        Assert.Equal(data, Timed.Bounded(() => ReadTests.ReadAt(m.PathOf("os/2.img"), 12_345, data.Length)));
    }

    [Fact]
    public async Task One_mebibyte_dd_write_with_fsync_lands_intact()
    {
        await using var m = await TestMount.StartAsync(writable: true);
        string source = m.Temp["src"];
        var data = RandomData.Bytes(1 << 20, 7);
        File.WriteAllBytes(source, data);

        Tools.Run("dd", $"if={source}", $"of={m.PathOf("os/2.img")}", "bs=1M", "seek=1", "conv=notrunc,fsync", "status=none");

        Assert.Equal(data, m.Catalog.Bytes(2).AsSpan(1 << 20, 1 << 20).ToArray());
    }

    [Fact]
    public async Task Writing_past_the_end_fails_and_changes_nothing_beyond()
    {
        await using var m = await TestMount.StartAsync(writable: true);
        int size = m.Catalog.Bytes(2).Length;

        var dd = Tools.Try("dd", "if=/dev/zero", $"of={m.PathOf("os/2.img")}", "bs=10", "count=1", $"seek={size + 100}",
            "oflag=seek_bytes", "conv=notrunc", "status=none");
        Assert.NotEqual(0, dd.Code);
        Assert.Contains("File too large", dd.Err); // EFBIG
        Assert.Equal(size, m.Catalog.Bytes(2).Length);
    }

    [Fact]
    public async Task Resizing_is_refused_but_truncating_to_the_same_size_is_accepted()
    {
        await using var m = await TestMount.StartAsync(writable: true);
        string path = m.PathOf("os/2.img");
        int size = m.Catalog.Bytes(2).Length;

        Assert.NotEqual(0, Tools.Try("truncate", "-s", "0", path).Code);
        Assert.NotEqual(0, Tools.Try("truncate", "-s", (size + 4096).ToString(System.Globalization.CultureInfo.InvariantCulture), path).Code);
        Tools.Run("truncate", "-s", size.ToString(System.Globalization.CultureInfo.InvariantCulture), path);
        Tools.Run("touch", path);
        Assert.Equal(size, new FileInfo(path).Length);
    }

    [Fact]
    public async Task Read_only_mount_refuses_writes()
    {
        await using var m = await TestMount.StartAsync(writable: false);
        var before = m.Catalog.Bytes(2).ToArray();

        var dd = Tools.Try("dd", "if=/dev/zero", $"of={m.PathOf("os/2.img")}", "bs=4096", "count=1", "conv=notrunc", "status=none");
        Assert.NotEqual(0, dd.Code);
        Assert.Contains("Read-only file system", dd.Err);
        Assert.Equal(before, m.Catalog.Bytes(2));
    }

    [Fact]
    public async Task Writable_mount_refuses_writes_to_a_read_only_version_but_reads_it()
    {
        await using var m = await TestMount.StartAsync(writable: true);
        var before = m.Catalog.Bytes(1).ToArray();

        var dd = Tools.Try("dd", "if=/dev/zero", $"of={m.PathOf("os/1.img")}", "bs=4096", "count=1", "conv=notrunc", "status=none");
        Assert.NotEqual(0, dd.Code);
        Assert.Contains("Read-only file system", dd.Err);
        Assert.Equal(before, m.Catalog.Bytes(1));
        Assert.Equal(before, Timed.Bounded(() => File.ReadAllBytes(m.PathOf("os/1.img"))));
    }
}
