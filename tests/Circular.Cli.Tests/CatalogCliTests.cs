using System.Text.Json;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>describe, catalog, images --json and log --json as a user runs them, good input and bad.</summary>
public sealed class CatalogCliTests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task Describe_sets_the_description_and_json_output_shows_it()
    {
        string archive = await scratch.InitArchiveAsync("describe");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["d1"], 300_000, 21), "-m", "first");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["d2"], 300_000, 22), "-m", "second", "--tag", "stable");
        Assert.Contains("described os", (await CircularCli.RunAsync("describe", archive, "os", "Debian <13> & friends")).Ok().Out);

        var images = JsonDocument.Parse((await CircularCli.RunAsync("images", archive, "--json")).Ok().Out).RootElement;
        var os = Assert.Single(images.EnumerateArray());
        Assert.Equal("Debian <13> & friends", os.GetProperty("description").GetString());
        Assert.Equal("ok", os.GetProperty("status").GetString());
        Assert.Equal(2, os.GetProperty("latest").GetInt32());

        var log = JsonDocument.Parse((await CircularCli.RunAsync("log", archive, "os", "--json")).Ok().Out).RootElement;
        var versions = log.GetProperty("versions").GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(["second", "first"], versions.Select(v => v.GetProperty("message").GetString()));
        Assert.Equal(["stable"], versions[0].GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(1, log.GetProperty("versions").GetProperty("pages").GetInt32());

        Assert.Contains("removed the description", (await CircularCli.RunAsync("describe", archive, "os", "")).Ok().Out);
        images = JsonDocument.Parse((await CircularCli.RunAsync("images", archive, "--json")).Ok().Out).RootElement;
        Assert.False(images[0].TryGetProperty("description", out _));
    }

    [Fact]
    public async Task Catalog_is_written_then_kept_current_by_publishing_commands()
    {
        string archive = await scratch.InitArchiveAsync("static");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["s1"], 300_000, 23), "-m", "first");
        var first = (await CircularCli.RunAsync("catalog", archive, "--url", "https://mirror.example/os/")).Ok();
        Assert.Contains("catalog of 1 image(s)", first.Out);
        string page = Path.Combine(archive, "catalog", "os", "index.html");
        Assert.Contains("circular boot https://mirror.example/os os@1", await File.ReadAllTextAsync(page));
        // push, tag and describe each rewrite it (with the URL given once).
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["s2"], 300_000, 24), "-m", "second");
        Assert.Contains("circular boot https://mirror.example/os os@2", await File.ReadAllTextAsync(page));
        Assert.Contains("catalog: ", (await CircularCli.RunAsync("tag", archive, "os@1", "golden")).Ok().Out);
        Assert.Contains("golden", await File.ReadAllTextAsync(page));
        (await CircularCli.RunAsync("describe", archive, "os", "the OS")).Ok();
        Assert.Contains("the OS", await File.ReadAllTextAsync(Path.Combine(archive, "index.html")));
        // An archive without a catalog gets none from publishing.
        string plain = await scratch.InitArchiveAsync("plain");
        await PushOutput.PushAsync(plain, "os", scratch["s1"]);
        Assert.False(File.Exists(Path.Combine(plain, "index.html")));
    }

    [Fact]
    public async Task A_content_chunked_version_is_shown_in_chunks_not_blocks()
    {
        string archive = await scratch.InitArchiveAsync("chunking");
        string image = RandomData.WriteFile(scratch["c1"], 600_000, 25);
        await PushOutput.PushAsync(archive, "os", image, "-m", "fixed");
        await PushOutput.PushAsync(archive, "os", image, "-m", "content", "--chunking", "content", "--chunk-size", "16K");
        (await CircularCli.RunAsync("catalog", archive)).Ok();

        var log = JsonDocument.Parse((await CircularCli.RunAsync("log", archive, "os", "--json")).Ok().Out).RootElement;
        var versions = log.GetProperty("versions").GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(["content", "fixed"], versions.Select(v => v.GetProperty("chunking").GetString()));
        var change = versions[0].GetProperty("change");
        Assert.True(change.GetProperty("byChunk").GetBoolean());
        // The same bytes cut otherwise: no chunk of version 2 is one of version 1's blocks, so a client fetches it all.
        Assert.Equal(600_000, change.GetProperty("bytesChanged").GetInt64());
        string page = await File.ReadAllTextAsync(Path.Combine(archive, "catalog", "os", "index.html"));
        Assert.Contains("content-defined chunks", page);
        Assert.Contains("not in version 1", page);
        Assert.Contains("blocks, ", page); // version 1 still in blocks
    }

    [Theory]
    [InlineData(1, "no image 'nope'", "describe", "{archive}", "nope", "text")]
    [InlineData(2, "control characters", "describe", "{archive}", "os", "bad\u0007text")]
    [InlineData(2, "must not contain", "describe", "{archive}", "../x", "text")]
    [InlineData(1, "no image 'nope'", "log", "{archive}", "nope", "--json")]
    [InlineData(1, "no such directory", "catalog", "/nonexistent/archive")]
    [InlineData(2, "is not an http(s) URL", "catalog", "{archive}", "--url", "ftp://x")]
    public async Task Bad_input_fails_with_one_line_and_an_exit_code(int code, string message, params string[] args)
    {
        string archive = scratch.Once("bad-archive", name =>
        {
            CircularCli.RunAsync("init", name).GetAwaiter().GetResult().Ok();
            PushOutput.PushAsync(name, "os", RandomData.WriteFile(scratch["b1"], 100_000, 25)).GetAwaiter().GetResult();
            return name;
        });
        var r = await CircularCli.RunAsync(args.Select(a => a.Replace("{archive}", archive, StringComparison.Ordinal)).ToArray());
        Assert.Equal(code, r.Code);
        Assert.Contains(message, r.Err);
        Assert.Single(r.ErrLines);
    }

    [Fact]
    public async Task Too_long_a_description_is_refused()
    {
        string archive = await scratch.InitArchiveAsync("long");
        await PushOutput.PushAsync(archive, "os", RandomData.WriteFile(scratch["l1"], 100_000, 26));
        var r = await CircularCli.RunAsync("describe", archive, "os", new string('x', 5000));
        Assert.Equal(2, r.Code);
        Assert.Contains("at most 4096", r.Err);
    }
}
