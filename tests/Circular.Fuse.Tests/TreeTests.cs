using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

public sealed class TreeTests
{
    [Fact]
    public async Task Ls_root_and_image_directory_show_one_file_per_export()
    {
        await using var m = await TestMount.StartAsync();

        Assert.Equal("os\n", Shell.Run("ls", m.Root).Ok("ls").Stdout);
        Assert.Equal(new[] { "1.img", "2.img", "latest.img", "stable.img" },
            Shell.Run("ls", m.PathOf("os")).Ok("ls os").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(Mounts.IsFuse(m.Root));
        Assert.Equal("fuse.circular", Mounts.TypeAt(m.Root));
    }

    [Fact]
    public async Task Stat_reports_entry_size_and_read_only_mode()
    {
        await using var m = await TestMount.StartAsync();

        string Stat(string file) => Shell.Run("stat", "-c", "%s %a %F %h", m.PathOf(file)).Ok("stat").Stdout.Trim();
        Assert.Equal($"{m.Catalog.Bytes(1).Length} 444 regular file 1", Stat("os/1.img"));
        Assert.Equal($"{m.Catalog.Bytes(2).Length} 444 regular file 1", Stat("os/2.img"));
        Assert.Equal($"{m.Catalog.Bytes(2).Length} 444 regular file 1", Stat("os/latest.img"));
        Assert.Equal($"{m.Catalog.Bytes(1).Length} 444 regular file 1", Stat("os/stable.img"));
        Assert.Equal("555 directory", Shell.Run("stat", "-c", "%a %F", m.PathOf("os")).Ok("stat").Stdout.Trim());
        Assert.Equal("3", Shell.Run("stat", "-c", "%h", m.Root).Ok("stat").Stdout.Trim());
    }

    [Fact]
    public async Task Mtime_is_stable_across_stats()
    {
        await using var m = await TestMount.StartAsync();

        string first = Shell.Run("stat", "-c", "%Y", m.PathOf("os/1.img")).Ok("stat").Stdout;
        Thread.Sleep(2100); // past the attribute timeout and the catalog refresh
        Assert.Equal(first, Shell.Run("stat", "-c", "%Y", m.PathOf("os/1.img")).Ok("stat").Stdout);
    }

    [Fact]
    public async Task Writable_mount_shows_files_0644()
    {
        await using var m = await TestMount.StartAsync(writable: true);

        Assert.Equal("644", Shell.Run("stat", "-c", "%a", m.PathOf("os/2.img")).Ok("stat").Stdout.Trim());
    }

    [Fact]
    public async Task New_version_appears_after_the_refresh_interval()
    {
        await using var m = await TestMount.StartAsync();
        var v3 = TestData.Random(3, 5000);
        m.Catalog.AddVersion(3, v3);

        Shell.WaitUntil(() => File.Exists(m.PathOf("os/3.img")), TimeSpan.FromSeconds(10), "os/3.img to appear");
        Assert.Equal(v3, Shell.Bounded(() => File.ReadAllBytes(m.PathOf("os/3.img"))));
        // latest.img now means version 3 and must not serve version 2's cached pages.
        Shell.WaitUntil(() => new FileInfo(m.PathOf("os/latest.img")).Length == v3.Length, TimeSpan.FromSeconds(10), "latest.img to move");
        Assert.Equal(v3, Shell.Bounded(() => File.ReadAllBytes(m.PathOf("os/latest.img"))));
    }

    [Fact]
    public async Task Lookup_of_missing_names_fails_with_enoent()
    {
        await using var m = await TestMount.StartAsync();

        Assert.False(File.Exists(m.PathOf("os/9.img")));
        Assert.False(Directory.Exists(m.PathOf("nope")));
        var ls = Shell.Run("ls", m.PathOf("nope"));
        Assert.NotEqual(0, ls.ExitCode);
        Assert.Contains("No such file or directory", ls.Stderr);
    }

    [Fact]
    public async Task Df_works_on_the_mount()
    {
        await using var m = await TestMount.StartAsync();

        Shell.Run("df", m.Root).Ok("df");
    }
}
