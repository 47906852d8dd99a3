using System.Text.Json.Nodes;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>One archive (images "os" with two versions and "other" with one), copied fresh for each damage.</summary>
public sealed class CorruptMetadataFixture : IAsyncLifetime
{
    public Scratch Scratch { get; } = new();
    public string Archive => Scratch["archive"];

    public async Task InitializeAsync()
    {
        await Scratch.InitArchiveAsync("archive");
        await PushOutput.PushAsync(Archive, "os", RandomData.WriteFile(Scratch["v1.img"], 600_000, 1));
        await PushOutput.PushAsync(Archive, "os", RandomData.WriteFile(Scratch["v2.img"], 500_000, 2), "--tag", "stable");
        await PushOutput.PushAsync(Archive, "other", RandomData.WriteFile(Scratch["o1.img"], 300_000, 3));
    }

    public Task DisposeAsync()
    {
        Scratch.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Damaged refs.json and images.json, as a broken mirror or a hand edit leaves them: every reading command fails with
/// one line naming the file, exit 1, no stack trace and no .NET type names.
/// </summary>
public sealed class CorruptMetadataTests(CorruptMetadataFixture f) : IClassFixture<CorruptMetadataFixture>
{
    /// <summary>Each damage: which file, how, and the reading commands that must refuse it.</summary>
    public static TheoryData<string, string, string[]> Damages() => new()
    {
        { "versions null", "refs", ["log", "cat", "verify"] },
        { "manifest null", "refs", ["log", "cat", "verify"] },
        { "tags null", "refs", ["log", "cat", "verify"] },
        { "latest not a number", "refs", ["log", "cat"] },
        { "absurd size", "refs", ["log", "cat", "verify"] },
        { "duplicate version", "refs", ["log", "cat", "verify"] },
        { "negative chunk size", "refs", ["log", "cat", "verify"] },
        { "tag names a missing version", "refs", ["log", "cat"] },
        { "images null", "images", ["images", "verify"] },
        { "image name escapes", "images", ["images", "verify"] },
    };

    private static void Damage(string archive, string damage)
    {
        string refsPath = Path.Combine(archive, "images", "os", "refs.json");
        string indexPath = Path.Combine(archive, "images.json");
        var refs = JsonNode.Parse(File.ReadAllText(refsPath))!;
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!;
        var v1 = refs["versions"]!.AsArray().First(v => (int)v!["version"]! == 1)!;
        switch (damage)
        {
            case "versions null": refs["versions"] = null; break;
            case "manifest null": v1["manifest"] = null; break;
            case "tags null": refs["tags"] = null; break;
            case "latest not a number": refs["latest"] = "x"; break;
            case "absurd size": v1["size"] = long.MaxValue; break;
            case "duplicate version": refs["versions"]!.AsArray().Add(v1.DeepClone()); break;
            case "negative chunk size": v1["chunkSize"] = -1; break;
            case "tag names a missing version": refs["tags"]!["stable"] = 9; break;
            case "images null": index["images"] = null; break;
            case "image name escapes": index["images"] = new JsonArray("../../etc"); break;
            default: throw new ArgumentException(damage);
        }
        File.WriteAllText(refsPath, refs.ToJsonString());
        File.WriteAllText(indexPath, index.ToJsonString());
    }

    private string FreshCopy(string name)
    {
        string copy = f.Scratch[name];
        Scratch.CopyDirectory(f.Archive, copy);
        return copy;
    }

    private static string[] Args(string command, string archive, string outFile) => command switch {
        "log" => ["log", archive, "os"],
        "cat" => ["cat", archive, "os@1", "-o", outFile],
        "verify" => ["verify", archive],
        "images" => ["images", archive],
        _ => throw new ArgumentException(command),
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Damaged_metadata_fails_every_reader_with_one_line_naming_the_file(string damage, string file, string[] commands)
    {
        string archive = FreshCopy("damaged-" + damage.Replace(' ', '-'));
        Damage(archive, damage);
        foreach (var command in commands)
        {
            var r = await CircularCli.RunAsync(Args(command, archive, f.Scratch["out-" + damage.Replace(' ', '-')]));
            string all = r.Out + r.Err;
            Assert.True(r.Code == 1, $"{damage}: {command} exited {r.Code}, not 1\n{all}");
            Assert.DoesNotContain("   at ", all);
            Assert.DoesNotContain("Exception", all);
            Assert.DoesNotContain("System.", all);
            Assert.DoesNotContain("Circular.Core.", all);
            Assert.Contains(file == "refs" ? "refs" : "images.json", all);
            if (command != "verify")
            {
                var line = Assert.Single(r.ErrLines);
                Assert.StartsWith("circular: ", line);
                Assert.Contains("corrupt", line);
            }
        }
        Assert.False(File.Exists(f.Scratch["out-" + damage.Replace(' ', '-')]), $"{damage}: cat left an output file");
    }

    [Fact]
    public async Task A_size_that_disagrees_with_the_manifest_is_refused_by_readers_of_the_version()
    {
        string archive = FreshCopy("size-disagrees");
        string refsPath = Path.Combine(archive, "images", "os", "refs.json");
        var refs = JsonNode.Parse(File.ReadAllText(refsPath))!;
        var v1 = refs["versions"]!.AsArray().First(v => (int)v!["version"]! == 1)!;
        v1["size"] = (long)v1["size"]! - 1000; // still the same block count: only the manifest can tell
        File.WriteAllText(refsPath, refs.ToJsonString());
        foreach (var args in new[] { Args("cat", archive, f.Scratch["size-out"]), ["verify", archive, "os@1"] })
        {
            var r = await CircularCli.RunAsync(args);
            Assert.Equal(1, r.Code);
            Assert.Contains("does not match its manifest", r.Out + r.Err);
        }
        (await CircularCli.RunAsync(Args("cat", archive, f.Scratch["size-v2"]).Select(a => a == "os@1" ? "os@2" : a).ToArray())).Ok();
    }

    [Theory]
    [InlineData("circular.json")]
    [InlineData("images/os/refs.json")]
    public async Task Metadata_of_a_newer_format_version_is_refused_as_too_new_never_misread(string file)
    {
        string archive = FreshCopy("newer-" + file.Replace('/', '-'));
        string path = Path.Combine(archive, file);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["formatVersion"] = 99;
        File.WriteAllText(path, json.ToJsonString());
        foreach (var command in new[] { "log", "cat" })
        {
            var r = await CircularCli.RunAsync(Args(command, archive, f.Scratch["newer-out"]));
            Assert.True(r.Code == 1, $"{command} exited {r.Code}\n{r}");
            var line = Assert.Single(r.ErrLines);
            Assert.Contains("too new", line, StringComparison.Ordinal);
            Assert.Contains("upgrade circular", line, StringComparison.Ordinal);
        }
        Assert.False(File.Exists(f.Scratch["newer-out"]));
    }

    [Fact]
    public async Task Refs_pointing_at_another_images_manifest_are_refused()
    {
        string archive = FreshCopy("foreign-manifest");
        // "other" version 1 now claims os version 1's manifest, copied in place: digest and file agree, the content does not.
        var osV1 = JsonNode.Parse(File.ReadAllText(Path.Combine(archive, "images", "os", "refs.json")))!["versions"]!.AsArray()
            .First(v => (int)v!["version"]! == 1)!;
        string otherRefs = Path.Combine(archive, "images", "other", "refs.json");
        var refs = JsonNode.Parse(File.ReadAllText(otherRefs))!;
        refs["versions"] = new JsonArray(osV1.DeepClone());
        File.WriteAllText(otherRefs, refs.ToJsonString());
        File.Copy(Path.Combine(archive, "images", "os", "versions", "1"), Path.Combine(archive, "images", "other", "versions", "1"), overwrite: true);

        var r = await CircularCli.RunAsync("cat", archive, "other@1", "-o", f.Scratch["foreign-out"]);
        Assert.Equal(1, r.Code);
        var line = Assert.Single(r.ErrLines);
        Assert.Contains("describes os@1", line);
    }

    [Fact]
    public async Task A_manifest_whose_version_does_not_match_its_path_is_refused()
    {
        string archive = FreshCopy("moved-manifest");
        // Version 2's entry and file replaced by version 1's (digest and file agree), renumbered: a mirror that serves
        // an old manifest under a new version's name, to roll a client back unseen.
        string refsFile = Path.Combine(archive, "images", "os", "refs.json");
        var refs = JsonNode.Parse(File.ReadAllText(refsFile))!;
        var versions = refs["versions"]!.AsArray();
        var moved = versions.First(v => (int)v!["version"]! == 1)!.DeepClone();
        moved["version"] = 2;
        versions[versions.IndexOf(versions.First(v => (int)v!["version"]! == 2))] = moved;
        File.WriteAllText(refsFile, refs.ToJsonString());
        File.Copy(Path.Combine(archive, "images", "os", "versions", "1"), Path.Combine(archive, "images", "os", "versions", "2"), overwrite: true);

        var cat = await CircularCli.RunAsync("cat", archive, "os@2", "-o", f.Scratch["moved-out"]);
        Assert.True(cat.Code == 1, cat.ToString());
        Assert.Contains("describes os@1", Assert.Single(cat.ErrLines));
        var verify = await CircularCli.RunAsync("verify", archive, "os@2");
        Assert.True(verify.Code == 1, verify.ToString());
        Assert.Contains("BAD manifest os@2: refs of image 'os' are corrupt: the manifest of os@2 describes os@1", verify.Out);
        Assert.False(File.Exists(f.Scratch["moved-out"]) && new FileInfo(f.Scratch["moved-out"]).Length > 0, "bytes written from a moved manifest");
        (await CircularCli.RunAsync("cat", archive, "os@1", "-o", f.Scratch["moved-v1"])).Ok(); // the real version 1 still reads
        Files.AssertSameBytes(f.Scratch["v1.img"], f.Scratch["moved-v1"]);
    }

    [Fact]
    public async Task Refs_files_carry_only_documented_fields()
    {
        var refs = JsonNode.Parse(File.ReadAllText(Path.Combine(f.Archive, "images", "os", "refs.json")))!.AsObject();
        Assert.Equal(["format", "formatVersion", "image", "serial", "updated", "latest", "tags", "versions"], refs.Select(kv => kv.Key).ToArray());
        await Task.CompletedTask;
    }
}
