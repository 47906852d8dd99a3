using System.Text.Json.Nodes;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// `push --chunking content` (docs/chunking.md): a rebuilt file system stores little more than what changed, every
/// version reads byte-exact, commit and diff work on content-defined chunks, and the archive becomes format 2.
/// </summary>
public sealed class ContentChunkingTests(Scratch scratch) : IClassFixture<Scratch>
{
    /// <summary>Two ext4 images built from scratch by mkfs.ext4 -d: the second from the same tree plus one file and one changed line.</summary>
    private (string V1, string V2, long Added) Rebuilt()
    {
        scratch.Once("rebuilt", _ =>
        {
            string tree = TestImages.Tree(scratch["tree"], 24 << 20, seed: 41);
            TestImages.Ext4(scratch["v1.img"], tree, "64M", blockSize: 4096);
            File.WriteAllBytes(Path.Combine(tree, "usr", "lib", "added.bin"), RandomData.Bytes(1_000_001, 42));
            File.AppendAllText(Path.Combine(tree, "etc", "hostname"), "changed\n");
            TestImages.Ext4(scratch["v2.img"], tree, "64M", blockSize: 4096);
            return "done";
        });
        return (scratch["v1.img"], scratch["v2.img"], 1_000_001L);
    }

    private static long AddedBytes(string archive, int version) => RefsFile.Version(archive, "os", version).GetProperty("addedBytes").GetInt64();

    [Fact]
    public async Task A_rebuilt_ext4_image_stores_little_more_than_the_change_where_fixed_blocks_store_much_more()
    {
        var (v1, v2, added) = Rebuilt();
        string fixedArchive = await scratch.InitArchiveAsync("fixed", "--format", "1");
        string content = await scratch.InitArchiveAsync("content", "--format", "1");
        await PushOutput.PushAsync(fixedArchive, "os", v1);
        await PushOutput.PushAsync(fixedArchive, "os", v2);
        var first = await PushOutput.PushAsync(content, "os", v1, "--chunking", "content");
        var second = (await CircularCli.RunAsync("push", content, "os", v2, "--chunking", "content")).Ok();

        long fixedAdded = AddedBytes(fixedArchive, 2), contentAdded = AddedBytes(content, 2);
        string figures = $"stored for v2: fixed 256K {fixedAdded} bytes, content {contentAdded} bytes (the change: {added} bytes of random data)";
        Assert.True(contentAdded < added + (1 << 20), figures); // the new file (incompressible) and some metadata pages
        Assert.True(contentAdded * 3 < fixedAdded * 2, figures);
        Assert.True(first.Total > 0 && first.Zero > 0, $"{first}");
        Assert.Contains("chunks:", second.Out);
        Assert.Matches(@"data: .* shared with the archive, .* new", second.Out);

        // Archive format 2, a content version in refs, and both versions byte-exact, verified.
        Assert.Equal(2, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(content, "circular.json")))!["formatVersion"]!);
        Assert.Equal("content", RefsFile.Version(content, "os", 2).GetProperty("chunking").GetString());
        Assert.Equal(1, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(fixedArchive, "circular.json")))!["formatVersion"]!);
        foreach (var (version, expected) in new[] { (1, v1), (2, v2) })
        {
            (await CircularCli.RunAsync("cat", content, $"os@{version}", "-o", scratch[$"out{version}"])).Ok();
            Files.AssertSameBytes(expected, scratch[$"out{version}"]);
        }
        await ArchiveChecks.VerifyCleanAsync(content);
        // gc finds every content chunk referenced: nothing to delete, both versions still whole.
        Assert.Contains("deleted 0 of", (await CircularCli.RunAsync("gc", content)).Ok().Out);
        await ArchiveChecks.VerifyCleanAsync(content);

        // diff compares by content and names what v2 shares with v1.
        var diff = (await CircularCli.RunAsync("diff", content, "os@1", "os@2")).Ok().Out;
        Assert.Matches(@"os@1 -> os@2: \d+ of \d+ chunks are new", diff);
        Assert.Matches(@"data: .* in os@2, .* shared with os@1, .* new in \d+ chunks", diff);
    }

    [Fact]
    public async Task Commit_of_an_overlay_on_content_chunks_keeps_the_boundaries_and_stores_only_the_change()
    {
        var (v1, _, _) = Rebuilt();
        string archive = await scratch.InitArchiveAsync("commit");
        await PushOutput.PushAsync(archive, "os", v1, "--chunking", "content", "--chunk-size", "32K");
        byte[] expected = File.ReadAllBytes(v1);
        // One write inside the data, one far into the zero run at the end of the file system.
        const long dataAt = (3 << 20) + 77, zeroAt = 60L << 20;
        const int length = 200_000;
        Array.Fill(expected, (byte)0x42, (int)dataAt, length);
        Array.Fill(expected, (byte)0x42, (int)zeroAt, length);
        string overlay = scratch["overlay"], sock = scratch["commit.sock"];
        string profile = scratch["v1.profile"];
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--writable", "--overlay", overlay,
            "--cache", "none", "--record-profile", profile))
        {
            (await Tools.TryAsync(TimeSpan.FromMinutes(1), null, "qemu-io", "-f", "raw", "-c", $"read 0 {1 << 20}", "-c", $"read {5 << 20} {1 << 20}",
                "-c", $"write -P 0x42 {dataAt} {length}",
                "-c", $"write -P 0x42 {zeroAt} {length}", "-c", "flush", $"nbd+unix:///os?socket={sock}")).PatternsMatch();
            await nbd.StopAsync("TERM");
        }
        (await CircularCli.RunAsync("commit", archive, "os", "--overlay", overlay, "-m", "two writes")).Ok();

        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", scratch["committed"])).Ok();
        Assert.Equal(expected, File.ReadAllBytes(scratch["committed"]));
        var entry = RefsFile.Version(archive, "os", 2);
        Assert.Equal("content", entry.GetProperty("chunking").GetString());
        Assert.Equal(32 << 10, entry.GetProperty("chunkSize").GetInt32());
        // Two written ranges of 200 KB, each in chunks of at most 4 x 32K on either side: far less than the image.
        Assert.InRange(entry.GetProperty("addedChunks").GetInt64(), 2, 16);
        await ArchiveChecks.VerifyCleanAsync(archive);

        // The profile of v1's reads and packs of its hot chunks work on content chunks: v1 still reads byte-exact.
        (await CircularCli.RunAsync("profile", "push", archive, "os@1", profile)).Ok();
        (await CircularCli.RunAsync("optimize", archive, "os@1")).Ok();
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(archive, "packs"), "*", SearchOption.AllDirectories));
        (await CircularCli.RunAsync("cat", archive, "os@1", "-o", scratch["v1-packed"])).Ok();
        Files.AssertSameBytes(v1, scratch["v1-packed"]);
        await ArchiveChecks.VerifyCleanAsync(archive);
    }

    [Fact]
    public async Task Content_versions_read_byte_exact_over_http_through_serve_and_mount_and_serve_range_requests()
    {
        var (v1, v2, _) = Rebuilt();
        string archive = await scratch.InitArchiveAsync("served");
        await PushOutput.PushAsync(archive, "os", v1, "--chunking", "content");
        await PushOutput.PushAsync(archive, "os", v2, "--chunking", "content", "--chunk-size", "128K");
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            // The client over HTTP, with a disk cache: cold, then warm.
            string cache = scratch["served-cache"];
            foreach (string pass in new[] { "cold", "warm" })
            {
                (await CircularCli.RunAsync("cat", url.ToString(), "os@2", "-o", scratch[$"http-{pass}"], "--cache", cache)).Ok();
                Files.AssertSameBytes(v2, scratch[$"http-{pass}"]);
            }
            // serve's virtual image file: a range across many chunk edges.
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, "images/os/1.img"));
            request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(3_000_000, 3_000_000 + 999_999);
            using var response = await http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.PartialContent, response.StatusCode);
            byte[] part = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(File.ReadAllBytes(v1).AsSpan(3_000_000, 1_000_000).ToArray(), part);

            // FUSE: the mounted image files are the versions.
            string mnt = scratch.NewDir("served-mnt");
            await using var mount = await CircularCli.StartAsync("mounted on", "mount", url.ToString(), mnt, "--cache", "none");
            Files.AssertSameBytes(v1, Path.Combine(mnt, "os", "1.img"));
            Files.AssertSameBytes(v2, Path.Combine(mnt, "os", "2.img"));
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_client_holding_the_parent_downloads_a_manifest_patch_and_falls_back_to_the_whole_manifest()
    {
        var (v1, v2, _) = Rebuilt();
        string archive = await scratch.InitArchiveAsync("patched");
        await PushOutput.PushAsync(archive, "os", v1, "--chunking", "content", "--chunk-size", "16K");
        await PushOutput.PushAsync(archive, "os", v2, "--chunking", "content", "--chunk-size", "16K");
        Assert.False(RefsFile.Version(archive, "os", 1).TryGetProperty("patchFrom", out _));
        Assert.Equal(1, RefsFile.Version(archive, "os", 2).GetProperty("patchFrom").GetInt32());
        string patch = Path.Combine(archive, "images", "os", "patches", "2");
        long manifestLength = new FileInfo(Path.Combine(archive, "images", "os", "versions", "2")).Length;
        Assert.True(new FileInfo(patch).Length * 5 < manifestLength, $"patch {new FileInfo(patch).Length} bytes, manifest {manifestLength}");

        using var nginx = await NginxServer.StartAsync(archive);
        string url = nginx.Url.ToString();
        int Fetches(string path) => nginx.AccessLog.Count(l => l.StartsWith($"GET /{path} 200", StringComparison.Ordinal));
        async Task CatBoth(string cache, string tag)
        {
            (await CircularCli.RunAsync("cat", url, "os@1", "-o", scratch[$"{tag}-1"], "--cache", cache)).Ok();
            (await CircularCli.RunAsync("cat", url, "os@2", "-o", scratch[$"{tag}-2"], "--cache", cache)).Ok();
            Files.AssertSameBytes(v1, scratch[$"{tag}-1"]);
            Files.AssertSameBytes(v2, scratch[$"{tag}-2"]);
        }

        // Holding version 1, the client rebuilds version 2's manifest from the patch and keeps it.
        await CatBoth(scratch.NewDir("patched-cache"), "p");
        Assert.Equal(1, Fetches("images/os/patches/2"));
        Assert.Equal(0, Fetches("images/os/versions/2"));
        (await CircularCli.RunAsync("cat", url, "os@2", "-o", scratch["p-again"], "--cache", scratch["patched-cache"])).Ok();
        Assert.Equal(1, Fetches("images/os/patches/2"));
        Assert.Equal(0, Fetches("images/os/versions/2"));
        // A cold client has no parent to patch: the whole manifest.
        (await CircularCli.RunAsync("cat", url, "os@2", "-o", scratch["p-cold"], "--cache", scratch.NewDir("cold-cache"))).Ok();
        Assert.Equal(1, Fetches("images/os/versions/2"));

        // A damaged patch, then none at all (a mirror without it): the whole manifest, byte-exact.
        byte[] good = File.ReadAllBytes(patch);
        byte[] bad = (byte[])good.Clone();
        bad[^40] ^= 0x55;
        File.WriteAllBytes(patch, bad);
        await CatBoth(scratch.NewDir("damaged-cache"), "d");
        Assert.Equal(2, Fetches("images/os/versions/2"));
        var verify = await CircularCli.RunAsync("verify", archive);
        Assert.True(verify.Code != 0 && (verify.Out + verify.Err).Contains("manifest patch of os@2", StringComparison.Ordinal), verify.ToString());
        File.Delete(patch);
        await CatBoth(scratch.NewDir("missing-cache"), "m");
        Assert.Equal(3, Fetches("images/os/versions/2"));
        Assert.Contains("missing", (await CircularCli.RunAsync("verify", archive)).Out + (await CircularCli.RunAsync("verify", archive)).Err);
        File.WriteAllBytes(patch, good);

        // A mirror copies the patch; gc deletes the patches of the versions it drops.
        string mirror = scratch.NewDir("patched-mirror");
        (await CircularCli.RunAsync("mirror", archive, mirror)).Ok();
        Assert.Equal(good, File.ReadAllBytes(Path.Combine(mirror, "images", "os", "patches", "2")));
        await PushOutput.PushAsync(archive, "os", v1, "--chunking", "content", "--chunk-size", "16K");
        Assert.Equal(2, RefsFile.Version(archive, "os", 3).GetProperty("patchFrom").GetInt32());
        (await CircularCli.RunAsync("gc", archive, "--keep-last", "1")).Ok();
        Assert.False(File.Exists(patch));
        Assert.True(File.Exists(Path.Combine(archive, "images", "os", "patches", "3")));
        await ArchiveChecks.VerifyCleanAsync(archive);
    }

    [Theory]
    [InlineData("16K", "zstd")]
    [InlineData("64K", "zlib")]
    [InlineData("1M", "zstd")]
    public async Task Push_then_cat_with_any_average_is_byte_exact(string average, string codec)
    {
        string image = scratch.Once("odd.img", p => RandomData.WriteFile(p, (5 << 20) + 12345, seed: 43));
        string archive = await scratch.InitArchiveAsync($"avg-{average}-{codec}");
        var pushed = await PushOutput.PushAsync(archive, "os", image, "--chunking", "content", "--chunk-size", average, "--codec", codec);
        Assert.Equal(pushed.Total, pushed.New + pushed.Reused + pushed.Zero);
        (await CircularCli.RunAsync("cat", archive, "os", "-o", scratch[$"odd-{average}"])).Ok();
        Files.AssertSameBytes(image, scratch[$"odd-{average}"]);
    }

    [Theory]
    [InlineData("--chunking", "rolling", "--chunking 'rolling'")]
    [InlineData("--chunk-size", "8K", "16K to 1M")]
    [InlineData("--chunk-size", "2M", "16K to 1M")]
    public async Task Bad_content_chunking_options_are_refused_before_anything_is_written(string option, string value, string message)
    {
        string archive = await scratch.InitArchiveAsync($"bad-{value}", "--format", "1");
        string image = scratch.Once("small.img", p => RandomData.WriteFile(p, 1 << 20, seed: 44));
        string[] args = option == "--chunking" ? ["push", archive, "os", image, option, value] : ["push", archive, "os", image, "--chunking", "content", option, value];
        var r = await CircularCli.RunAsync(args);
        Assert.Equal(2, r.Code);
        Assert.Contains(message, r.Err);
        Assert.Equal(1, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(archive, "circular.json")))!["formatVersion"]!);
        Assert.False(Directory.Exists(Path.Combine(archive, "images", "os")));
    }
}
