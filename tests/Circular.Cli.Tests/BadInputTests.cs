using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// Holds an archive with one image ("os", versions 1 and 2, tag "stable") and the inputs bad-input tests need.
/// </summary>
public sealed class BadInputFixture : IAsyncLifetime
{
    public Scratch Scratch { get; } = new();
    public string Archive => Scratch["archive"];
    public string Image => Scratch["good.img"];
    public string NotArchive => Scratch["not-an-archive"];

    public async Task InitializeAsync()
    {
        RandomData.WriteFile(Image, 700_000, 1);
        await Scratch.InitArchiveAsync("archive");
        await PushOutput.PushAsync(Archive, "os", Image);
        await PushOutput.PushAsync(Archive, "os", RandomData.WriteFile(Scratch["v2.img"], 500_000, 2), "--tag", "stable");
        Directory.CreateDirectory(NotArchive);
        File.WriteAllText(Scratch["plain-file"], "hello");
    }

    public Task DisposeAsync()
    {
        Scratch.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>Every bad input: one line on stderr, a non-zero exit, and the archive byte-for-byte unchanged.</summary>
public sealed class BadInputTests(BadInputFixture f) : IClassFixture<BadInputFixture>
{
    /// <summary>Placeholders: {A} archive, {I} good image, {N} a directory that is not an archive, {D} scratch dir.</summary>
    public static TheoryData<string, string[]> Cases() => new()
    {
        { "missing image", ["push", "{A}", "os", "{D}/no-such.img"] },
        { "image is a directory", ["push", "{A}", "os", "{D}"] },
        { "archive is an empty directory", ["push", "{N}", "os", "{I}"] },
        { "archive is a file", ["push", "{D}/plain-file", "os", "{I}"] },
        { "archive does not exist", ["cat", "{D}/nowhere", "os"] },
        { "cat of a non-archive", ["cat", "{N}", "os"] },
        { "name with slash", ["push", "{A}", "a/b", "{I}"] },
        { "name with dot-dot", ["push", "{A}", "bad/../name", "{I}"] },
        { "name dot-dot", ["push", "{A}", "..", "{I}"] },
        { "name with newline", ["push", "{A}", "os\nx", "{I}"] },
        { "name with escape", ["push", "{A}", "os\u001b[2J", "{I}"] },
        { "name with tab in cat", ["cat", "{A}", "o\ts"] },
        { "unknown version", ["cat", "{A}", "os@99", "-o", "{D}/x"] },
        { "unknown tag", ["cat", "{A}", "os@nosuch", "-o", "{D}/x"] },
        { "unknown image", ["cat", "{A}", "nosuch", "-o", "{D}/x"] },
        { "rollback to unknown version", ["rollback", "{A}", "os", "99"] },
        { "rollback to unknown tag", ["rollback", "{A}", "os", "nosuch"] },
        { "rollback of unknown image", ["rollback", "{A}", "nosuch", "1"] },
        { "tag of unknown version", ["tag", "{A}", "os@99", "t"] },
        { "tag of unknown image", ["tag", "{A}", "nosuch@1", "t"] },
        { "numeric tag", ["tag", "{A}", "os@1", "12"] },
        { "diff with unknown version", ["diff", "{A}", "os@1", "os@99"] },
        { "verify unknown image", ["verify", "{A}", "nosuch"] },
        { "log unknown image", ["log", "{A}", "nosuch"] },
        { "chunk size not a power of two", ["push", "{A}", "os", "{I}", "--chunk-size", "300K"] },
        { "chunk size too small", ["push", "{A}", "os", "{I}", "--chunk-size", "32K"] },
        { "chunk size too large", ["push", "{A}", "os", "{I}", "--chunk-size", "8M"] },
        { "chunk size not a size", ["push", "{A}", "os", "{I}", "--chunk-size", "lots"] },
        { "unknown codec", ["push", "{A}", "os", "{I}", "--codec", "lz4"] },
        { "bad tag on push", ["push", "{A}", "os", "{I}", "--tag", "latest"] },
        { "gc keep-last zero", ["gc", "{A}", "--keep-last", "0"] },
        { "init over an archive", ["init", "{A}"] },
    };

    private string[] Expand(string[] args) =>
        args.Select(a => a.Replace("{A}", f.Archive).Replace("{I}", f.Image).Replace("{N}", f.NotArchive).Replace("{D}", f.Scratch.Dir)).ToArray();

    private static void AssertOneLineError(RunResult r)
    {
        Assert.NotEqual(0, r.Code);
        var line = Assert.Single(r.ErrLines);
        Assert.StartsWith("circular: ", line);
        Assert.True(line.Length > "circular: ".Length + 10, "error too terse: " + line);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Command_badInput_failsWithOneLineAndChangesNothing(string why, string[] args)
    {
        var before = Files.Snapshot(f.Archive);
        var notArchiveBefore = Files.Snapshot(f.NotArchive);

        var r = await CircularCli.RunAsync(Expand(args));

        AssertOneLineError(r);
        Assert.True(before.SequenceEqual(Files.Snapshot(f.Archive)), $"{why}: the archive changed");
        Assert.Equal(notArchiveBefore, Files.Snapshot(f.NotArchive));
        Assert.False(File.Exists(f.Scratch["x"]), $"{why}: left an output file");
    }

    [Theory]
    [InlineData("--chunk-size", "300K")]
    [InlineData("--codec", "lz4")]
    public async Task Init_badOption_failsAndCreatesNothing(string option, string value)
    {
        string target = f.Scratch["new-" + value];
        AssertOneLineError(await CircularCli.RunAsync("init", target, option, value));
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public async Task Push_unreadableImage_failsWithOneLineAndChangesNothing()
    {
        // Tests run as root, which chmod 000 does not stop. A write-only sysctl refuses reads even to root (EACCES).
        string unreadable = "/proc/sys/vm/compact_memory";
        if (Environment.UserName != "root" && !OperatingSystem.IsWindows())
        {
            unreadable = RandomData.WriteFile(f.Scratch["unreadable.img"], 1000, 5);
            File.SetUnixFileMode(unreadable, UnixFileMode.None);
        }
        var before = Files.Snapshot(f.Archive);
        var r = await CircularCli.RunAsync("push", f.Archive, "os", unreadable);
        AssertOneLineError(r);
        Assert.Contains("not readable", r.Err);
        Assert.Equal(before, Files.Snapshot(f.Archive));
    }

    [Theory]
    [InlineData("corrupt")]
    [InlineData("truncated")]
    public async Task CatAndVerify_damagedManifest_failClearly(string damage)
    {
        string archive = await f.Scratch.InitArchiveAsync("damaged-" + damage);
        await PushOutput.PushAsync(archive, "os", f.Image);
        await PushOutput.PushAsync(archive, "os", f.Scratch["v2.img"]);
        string manifest = Path.Combine(archive, "images", "os", "versions", "1");
        byte[] bytes = File.ReadAllBytes(manifest);
        if (damage == "corrupt") bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(manifest, damage == "corrupt" ? bytes : bytes[..(bytes.Length / 2)]);
        var before = Files.Snapshot(archive);

        var cat = await CircularCli.RunAsync("cat", archive, "os@1", "-o", f.Scratch["damaged-out"]);
        AssertOneLineError(cat);
        Assert.Contains("manifest", cat.Err);
        Assert.Contains("os@1", cat.Err);
        Assert.False(File.Exists(f.Scratch["damaged-out"]));

        var verify = await CircularCli.RunAsync("verify", archive);
        Assert.NotEqual(0, verify.Code);
        var bad = Assert.Single(verify.Out.Split('\n'), l => l.StartsWith("BAD"));
        Assert.Contains("manifest os@1", bad);

        // The undamaged version still reads.
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", f.Scratch["damaged-ok"])).Ok();
        Files.AssertSameBytes(f.Scratch["v2.img"], f.Scratch["damaged-ok"]);
        Assert.Equal(before, Files.Snapshot(archive));
    }
}
