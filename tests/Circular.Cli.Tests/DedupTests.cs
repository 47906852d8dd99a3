using System.Text.RegularExpressions;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>A new version stores only the blocks that changed; diff counts them.</summary>
public sealed partial class DedupTests(Scratch scratch) : IClassFixture<Scratch>
{
    [GeneratedRegex(@"(\d+) of (\d+) blocks differ \([^;]+; (\d+) bytes\)")] private static partial Regex DiffLine();

    private static (long Blocks, long Total, long Bytes) ParseDiff(RunResult r)
    {
        var m = DiffLine().Match(r.Ok().Out);
        Assert.True(m.Success, "unexpected diff output: " + r.Out);
        return (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value), long.Parse(m.Groups[3].Value));
    }

    [Theory]
    [InlineData("fixed")]
    [InlineData("content")]
    public async Task Push_oneFileChangedInsideExt4_addsOnlyAFewChunks(string chunking)
    {
        string tree = TestImages.Tree(scratch[$"tree-{chunking}"], 8 << 20, seed: 11);
        string v1 = TestImages.Ext4(scratch[$"v1-{chunking}.img"], tree, "32M");
        string v2 = scratch[$"v2-{chunking}.img"];
        File.Copy(v1, v2);
        string replacement = scratch[$"new-file-{chunking}"];
        File.WriteAllBytes(replacement, RandomData.Bytes(100_000, 12));
        TestImages.ReplaceFileInExt4(v2, "/etc/hostname", replacement);
        string archive = await scratch.InitArchiveAsync($"a-{chunking}");

        // 64K blocks, or content-defined chunks of 64K on average.
        var first = await PushOutput.PushAsync(archive, "fs", v1, "--chunk-size", "64K", "--chunking", chunking);
        var second = await PushOutput.PushAsync(archive, "fs", v2, "--chunk-size", "64K", "--chunking", chunking);
        var unchanged = await PushOutput.PushAsync(archive, "fs", v2, "--chunk-size", "64K", "--chunking", chunking);

        Assert.True(first.New > 100, $"v1 stored only {first.New} chunks");
        // 100,000 bytes of new data is 2-3 blocks of 64K; inode table, bitmaps, directory and journal add a few more.
        Assert.InRange(second.New, 2, 16);
        Assert.Equal(second.New, RefsFile.Version(archive, "fs", 2).GetProperty("addedChunks").GetInt64());
        Assert.Equal(0, unchanged.New);
        Assert.Equal(0, RefsFile.Version(archive, "fs", 3).GetProperty("addedChunks").GetInt64());
        Assert.Equal(unchanged.Total - unchanged.Zero, unchanged.Reused);

        if (chunking == "fixed")
        {
            var diff = ParseDiff(await CircularCli.RunAsync("diff", archive, "fs@1", "fs@2"));
            Assert.InRange(diff.Blocks, 2, 16);
            Assert.True(diff.Blocks >= second.New, $"diff says {diff.Blocks} blocks differ but push stored {second.New} new ones");
            Assert.Equal(0, ParseDiff(await CircularCli.RunAsync("diff", archive, "fs@2", "fs@3")).Blocks);
        }
        else
        {
            Assert.Contains($"{second.New} of {second.Total} chunks are new", (await CircularCli.RunAsync("diff", archive, "fs@1", "fs@2")).Ok().Out);
            Assert.Contains($"0 of {second.Total} chunks are new", (await CircularCli.RunAsync("diff", archive, "fs@2", "fs@3")).Ok().Out);
        }

        (await CircularCli.RunAsync("cat", archive, "fs@1", "-o", scratch[$"o1-{chunking}"])).Ok();
        (await CircularCli.RunAsync("cat", archive, "fs@2", "-o", scratch[$"o2-{chunking}"])).Ok();
        Files.AssertSameBytes(v1, scratch[$"o1-{chunking}"]);
        Files.AssertSameBytes(v2, scratch[$"o2-{chunking}"]);
    }

    [Fact]
    public async Task Diff_twoBlocksOverwritten_reportsExactlyThoseBlocks()
    {
        const int cs = 64 * 1024;
        byte[] bytes = RandomData.Bytes(40 * cs + 999, 21);
        string a = scratch["d1.img"], b = scratch["d2.img"];
        File.WriteAllBytes(a, bytes);
        bytes[3 * cs + 10] ^= 0xff;
        bytes[^1] ^= 0xff; // the short last block
        File.WriteAllBytes(b, bytes);
        string archive = await scratch.InitArchiveAsync("d");

        await PushOutput.PushAsync(archive, "r", a, "--chunk-size", "64K");
        var second = await PushOutput.PushAsync(archive, "r", b, "--chunk-size", "64K");

        Assert.Equal(2, second.New);
        Assert.Equal(39, second.Reused);
        var diff = ParseDiff(await CircularCli.RunAsync("diff", archive, "r@1", "r@2"));
        Assert.Equal((2, 41, cs + 999L), diff);
    }
}
