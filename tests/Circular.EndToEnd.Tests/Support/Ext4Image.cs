namespace Circular.EndToEnd.Tests.Support;

/// <summary>
/// The issue-4 input: a source tree (text, a few MB of random data, nested dirs), a 64 MiB ext4 image made from it
/// with mkfs.ext4 -d, and an archive holding it as NAME version 1 tagged TAG. Built once per test class.
/// </summary>
public sealed class Ext4Image : IAsyncLifetime
{
    public const string Name = "os";
    public const string Tag = "stable";
    public const long Size = 64L << 20;

    private readonly Scratch _scratch = new();

    public string Source => _scratch["src"];
    public string Image => _scratch["os.img"];
    public string Archive => _scratch["archive"];

    public async Task InitializeAsync()
    {
        Tools.Require("mkfs.ext4", "debugfs", "qemu-img", "qemu-io", "nbdinfo", "nbdcopy", "fusermount3", "mount", "umount");
        MakeTree(Source);
        File.WriteAllBytes(Image, []);
        Tools.Run("truncate", "-s", Size.ToString(System.Globalization.CultureInfo.InvariantCulture), Image);
        Tools.Run("mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", Source, Image);
        await NewArchiveAsync(Archive);
    }

    /// <summary>An archive of its own holding the image as version 1 (for tests that add versions).</summary>
    public async Task<string> NewArchiveAsync(string archive)
    {
        (await CircularCli.RunAsync("init", archive)).Ok();
        (await CircularCli.RunAsync("push", archive, Name, Image, "--tag", Tag, "--message", "first")).Ok();
        return archive;
    }

    public static void MakeTree(string dir)
    {
        var rng = new Random(4);
        Directory.CreateDirectory(Path.Combine(dir, "etc"));
        Directory.CreateDirectory(Path.Combine(dir, "usr", "share", "doc"));
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "etc", "hostname"), "circular-e2e\n");
        File.WriteAllText(Path.Combine(dir, "etc", "motd"), "version one\n");
        File.WriteAllLines(Path.Combine(dir, "usr", "share", "doc", "numbers.txt"), Enumerable.Range(0, 50_000).Select(i => $"line {i}"));
        var random = new byte[5 << 20];
        rng.NextBytes(random);
        File.WriteAllBytes(Path.Combine(dir, "data", "random.bin"), random);
        var small = new byte[70_000];
        rng.NextBytes(small);
        File.WriteAllBytes(Path.Combine(dir, "data", "small.bin"), small);
    }

    public Task DisposeAsync()
    {
        _scratch.Dispose();
        return Task.CompletedTask;
    }
}
