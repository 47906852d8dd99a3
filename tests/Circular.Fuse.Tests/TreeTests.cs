using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

public sealed class TreeTests
{
    [Fact]
    public async Task Ls_root_and_image_directory_show_one_file_per_export()
    {
        await using var m = await TestMount.StartAsync();

        Assert.Equal("os\n", Tools.Run("ls", m.Root));
        Assert.Equal(new[] { "1.img", "2.img", "latest.img", "stable.img" },
            Tools.Run("ls", m.PathOf("os")).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(Mounts.IsFuse(m.Root));
        Assert.Equal("fuse.circular", Mounts.TypeAt(m.Root));
    }

    [Fact]
    public async Task Stat_reports_entry_size_and_read_only_mode()
    {
        await using var m = await TestMount.StartAsync();

        string Stat(string file) => Tools.Run("stat", "-c", "%s %a %F %h", m.PathOf(file)).Trim();
        Assert.Equal($"{m.Catalog.Bytes(1).Length} 444 regular file 1", Stat("os/1.img"));
        Assert.Equal($"{m.Catalog.Bytes(2).Length} 444 regular file 1", Stat("os/2.img"));
        Assert.Equal($"{m.Catalog.Bytes(2).Length} 444 regular file 1", Stat("os/latest.img"));
        Assert.Equal($"{m.Catalog.Bytes(1).Length} 444 regular file 1", Stat("os/stable.img"));
        Assert.Equal("555 directory", Tools.Run("stat", "-c", "%a %F", m.PathOf("os")).Trim());
        Assert.Equal("3", Tools.Run("stat", "-c", "%h", m.Root).Trim());
    }

    [Fact]
    public async Task Mtime_is_stable_across_stats()
    {
        await using var m = await TestMount.StartAsync();

        string first = Tools.Run("stat", "-c", "%Y", m.PathOf("os/1.img"));
        Thread.Sleep(2100); // past the attribute timeout and the catalog refresh
        Assert.Equal(first, Tools.Run("stat", "-c", "%Y", m.PathOf("os/1.img")));
    }

    [Fact]
    public async Task Writable_mount_shows_files_0644()
    {
        await using var m = await TestMount.StartAsync(writable: true);

        Assert.Equal("644", Tools.Run("stat", "-c", "%a", m.PathOf("os/2.img")).Trim());
    }

    [Fact]
    public async Task New_version_appears_after_the_refresh_interval()
    {
        await using var m = await TestMount.StartAsync();
        var v3 = RandomData.Bytes(5000, 3);
        m.Catalog.AddVersion(3, v3);

        Timed.WaitUntil(() => File.Exists(m.PathOf("os/3.img")), TimeSpan.FromSeconds(10), "os/3.img to appear");
        Assert.Equal(v3, Timed.Bounded(() => File.ReadAllBytes(m.PathOf("os/3.img"))));
        // latest.img now means version 3 and must not serve version 2's cached pages.
        Timed.WaitUntil(() => new FileInfo(m.PathOf("os/latest.img")).Length == v3.Length, TimeSpan.FromSeconds(10), "latest.img to move");
        Assert.Equal(v3, Timed.Bounded(() => File.ReadAllBytes(m.PathOf("os/latest.img"))));
    }

    [Fact]
    public async Task Lookup_of_missing_names_fails_with_enoent()
    {
        await using var m = await TestMount.StartAsync();

        Assert.False(File.Exists(m.PathOf("os/9.img")));
        Assert.False(Directory.Exists(m.PathOf("nope")));
        var ls = Tools.Try("ls", m.PathOf("nope"));
        Assert.NotEqual(0, ls.Code);
        Assert.Contains("No such file or directory", ls.Err);
    }

    [Fact]
    public async Task Df_works_on_the_mount()
    {
        await using var m = await TestMount.StartAsync();

        Tools.Run("df", m.Root);
    }
}
