using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>tag, rollback and roll-forward, NAME@TAG, and what log and images print.</summary>
public sealed class VersionTests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task Rollback_thenRollForward_switchesLatestWithoutLosingVersions()
    {
        string archive = await scratch.InitArchiveAsync("rb");
        string v1 = RandomData.WriteFile(scratch["rb1"], 300_000, 1), v2 = RandomData.WriteFile(scratch["rb2"], 400_000, 2);
        await PushOutput.PushAsync(archive, "os", v1, "--message", "first");
        await PushOutput.PushAsync(archive, "os", v2, "--tag", "stable");

        var back = (await CircularCli.RunAsync("rollback", archive, "os", "1")).Ok();
        Assert.Contains("rolled back latest 2 -> 1", back.Out);
        Assert.Equal(1, RefsFile.Latest(archive, "os"));
        Assert.Equal([1, 2], RefsFile.Versions(archive, "os"));
        (await CircularCli.RunAsync("cat", archive, "os", "-o", scratch["latest-after-rollback"])).Ok();
        Files.AssertSameBytes(v1, scratch["latest-after-rollback"]);

        var forward = (await CircularCli.RunAsync("rollback", archive, "os", "stable")).Ok();
        Assert.Contains("rolled forward latest 1 -> 2", forward.Out);
        (await CircularCli.RunAsync("cat", archive, "os", "-o", scratch["latest-after-forward"])).Ok();
        Files.AssertSameBytes(v2, scratch["latest-after-forward"]);

        // A push after a rollback gets a new number; nothing is overwritten.
        (await CircularCli.RunAsync("rollback", archive, "os", "1")).Ok();
        var third = await PushOutput.PushAsync(archive, "os", v1);
        Assert.Equal(3, third.Version);
        Assert.Equal([1, 2, 3], RefsFile.Versions(archive, "os"));
    }

    [Fact]
    public async Task Tag_thenCatNameAtTag_readsTheTaggedVersion()
    {
        string archive = await scratch.InitArchiveAsync("tag");
        string v1 = RandomData.WriteFile(scratch["t1"], 200_000, 3), v2 = RandomData.WriteFile(scratch["t2"], 200_000, 4);
        await PushOutput.PushAsync(archive, "os", v1);
        await PushOutput.PushAsync(archive, "os", v2);

        var tagged = (await CircularCli.RunAsync("tag", archive, "os@1", "golden")).Ok();
        Assert.Contains("tagged os@1 as golden", tagged.Out);
        (await CircularCli.RunAsync("cat", archive, "os@golden", "-o", scratch["g"])).Ok();
        Files.AssertSameBytes(v1, scratch["g"]);
        (await CircularCli.RunAsync("cat", archive, "os@latest", "-o", scratch["l"])).Ok();
        Files.AssertSameBytes(v2, scratch["l"]);

        // Moving the tag re-points it.
        (await CircularCli.RunAsync("tag", archive, "os@2", "golden")).Ok();
        (await CircularCli.RunAsync("cat", archive, "os@golden", "-o", scratch["g2"])).Ok();
        Files.AssertSameBytes(v2, scratch["g2"]);
    }

    [Fact]
    public async Task LogAndImages_listVersionsWithSizeTagsMessageAndLatest()
    {
        string archive = await scratch.InitArchiveAsync("log");
        Assert.Contains("no images", (await CircularCli.RunAsync("images", archive)).Ok().Out);
        string v1 = RandomData.WriteFile(scratch["l1"], 2 << 20, 5);
        await PushOutput.PushAsync(archive, "web", v1, "-m", "initial import");
        await PushOutput.PushAsync(archive, "web", v1, "--tag", "prod", "-m", "same again");
        await PushOutput.PushAsync(archive, "db", v1);

        var log = (await CircularCli.RunAsync("log", archive, "web")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var row2 = Assert.Single(log, l => l.Contains("same again"));
        var row1 = Assert.Single(log, l => l.Contains("initial import"));
        Assert.StartsWith("*", row2);                     // latest is marked
        Assert.Contains("prod", row2);
        Assert.Matches(@"^\s+1\s", row1);
        Assert.Contains("2.0 MiB", row1);                 // size and bytes added (random data does not compress)
        Assert.Matches(@"2\.0 MiB\s+2\.0 MiB", row1);
        Assert.Matches(@"2\.0 MiB\s+0 B", row2);          // the unchanged re-push added nothing
        Assert.True(log.ToList().IndexOf(row2) < log.ToList().IndexOf(row1), "newest version first");

        var images = (await CircularCli.RunAsync("images", archive)).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^db\s+1\s+1\s+2\.0 MiB", Assert.Single(images, l => l.StartsWith("db")));
        Assert.Matches(@"^web\s+2\s+2\s+2\.0 MiB", Assert.Single(images, l => l.StartsWith("web")));
    }
}
