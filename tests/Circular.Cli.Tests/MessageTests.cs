using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>Error and warning messages say what happened in words a user can act on: no repeats, no temporary names.</summary>
public sealed class MessageTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose(); // unmounts the small file systems too

    /// <summary>A tmpfs of <paramref name="size"/> (tests run as root in CI): a file system that fills up.</summary>
    private string SmallFileSystem(string name, string size)
    {
        string dir = _s.NewDir(name);
        Tools.Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", dir);
        return dir;
    }

    [Fact]
    public async Task A_corrupt_chunk_is_named_once()
    {
        string archive = await _s.InitArchiveAsync("archive");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(_s["os.img"], 600_000, 3));
        string chunk = Directory.GetFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories).First();
        byte[] bytes = File.ReadAllBytes(chunk);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(chunk, bytes);
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            var r = await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["out"], "--cache", "none");
            Assert.Equal(1, r.Code);
            var line = Assert.Single(r.ErrLines);
            string id = Path.GetFileName(chunk);
            Assert.Equal(1, line.Split(id).Length - 1);
        }
    }

    [Fact]
    public async Task A_full_archive_disk_says_what_was_being_written_and_where()
    {
        string disk = SmallFileSystem("small-archive", "1m");
        string archive = Path.Combine(disk, "archive");
        (await CircularCli.RunAsync("init", archive)).Ok();
        var r = await CircularCli.RunAsync("push", archive, "os", RandomData.WriteFile(_s["big.img"], 3_000_000, 4));
        Assert.Equal(1, r.Code);
        var line = Assert.Single(r.ErrLines);
        Assert.Contains("No space left on device", line);
        Assert.Contains("cannot write chunk", line);
        Assert.Contains(archive, line);
        Assert.DoesNotContain(".tmp-", line);
        // Nothing half-written is left: the archive still lists no image and verifies clean.
        (await CircularCli.RunAsync("verify", archive)).Ok();
    }

    [Fact]
    public async Task A_full_cache_disk_warns_once_and_the_read_still_succeeds()
    {
        string archive = await _s.InitArchiveAsync("archive-for-cache");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(_s["cached.img"], 3_000_000, 5));
        string cache = Path.Combine(SmallFileSystem("small-cache", "512k"), "cache");
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            var r = (await CircularCli.RunAsync("cat", url.ToString(), "os", "-o", _s["cached-out"], "--cache", cache)).Ok();
            Files.AssertSameBytes(_s["cached.img"], _s["cached-out"]);
            var warning = Assert.Single(r.ErrLines, l => l.Contains("cannot write to the cache", StringComparison.Ordinal));
            Assert.Contains("No space left on device", warning);
        }
    }
}
