using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// An archive written by an earlier circular (format 1, kept in Fixtures/format1-archive) reads byte-exact with this
/// one, verifies clean, and takes new versions, fixed or content-defined, without losing its old ones.
/// </summary>
public sealed class FormatCompatibilityTests(Scratch scratch) : IClassFixture<Scratch>
{
    private const string V1 = "1abcd6d54a50819712282beae927bc039e94b49ec7631406272116a15a952eb6";
    private const string V2 = "8e0c7b857c350c013d7506fc55ec6c754b3325e880b8817483943650252355aa";

    private string Copy(string name)
    {
        string from = Path.Combine(RepositoryRoot(), "tests", "Circular.Cli.Tests", "Fixtures", "format1-archive");
        string to = scratch[name];
        foreach (string f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }
        return to;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Circular.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("the repository holding Circular.slnx");
    }

    private async Task<string> ShaOfAsync(string archive, string spec)
    {
        string output = scratch[$"out-{Path.GetFileName(archive)}-{spec.Replace('@', '-')}"];
        (await CircularCli.RunAsync("cat", archive, spec, "-o", output)).Ok();
        return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(output)));
    }

    [Fact]
    public async Task A_format_1_archive_reads_byte_exact_and_verifies_clean()
    {
        string archive = Copy("read");
        Assert.Equal(V1, await ShaOfAsync(archive, "os@1"));
        Assert.Equal(V1, await ShaOfAsync(archive, "os@stable"));
        Assert.Equal(V2, await ShaOfAsync(archive, "os@2"));
        await ArchiveChecks.VerifyCleanAsync(archive);
        var diff = (await CircularCli.RunAsync("diff", archive, "os@1", "os@2")).Ok().Out;
        Assert.Contains("1 of 6 blocks differ", diff);
        Assert.Contains("second", (await CircularCli.RunAsync("log", archive, "os")).Ok().Out);
    }

    [Fact]
    public async Task A_fixed_push_keeps_format_1_and_a_content_push_moves_the_archive_to_format_2_keeping_every_version()
    {
        string archive = Copy("write");
        string image = scratch.Once("v3.img", p => RandomData.WriteFile(p, 400_000, seed: 45));
        (await CircularCli.RunAsync("push", archive, "os", image)).Ok();
        Assert.Equal(1, FormatOf(archive));
        byte[] manifest3 = File.ReadAllBytes(Path.Combine(archive, "images", "os", "versions", "3"));
        Assert.Equal(1, manifest3[8]); // format 1 manifests in a format 1 archive: older clients still read it

        var content = (await CircularCli.RunAsync("push", archive, "os", image, "--chunking", "content", "--chunk-size", "16K")).Ok();
        Assert.Contains("archive format 2", content.Err);
        Assert.Equal(2, FormatOf(archive));
        Assert.Equal(2, File.ReadAllBytes(Path.Combine(archive, "images", "os", "versions", "4"))[8]);
        Assert.Equal(V1, await ShaOfAsync(archive, "os@1"));
        Assert.Equal(V2, await ShaOfAsync(archive, "os@2"));
        Assert.Equal(await ShaOfAsync(archive, "os@3"), await ShaOfAsync(archive, "os@4"));
        await ArchiveChecks.VerifyCleanAsync(archive);
        // Fixed blocks against content chunks: no grid in common, compared by chunk.
        var diff = (await CircularCli.RunAsync("diff", archive, "os@3", "os@4")).Ok().Out;
        Assert.Contains("chunks are new", diff);
        Assert.Contains("64.0 KiB blocks and content chunks averaging 16.0 KiB", diff);

        // Once format 2, fixed pushes write format 2 manifests too (stored-file digests for every chunk).
        (await CircularCli.RunAsync("push", archive, "os", image)).Ok();
        Assert.Equal(2, File.ReadAllBytes(Path.Combine(archive, "images", "os", "versions", "5"))[8]);
        Assert.Equal(await ShaOfAsync(archive, "os@3"), await ShaOfAsync(archive, "os@5"));
        await ArchiveChecks.VerifyCleanAsync(archive);
    }

    [Fact]
    public async Task Init_writes_format_2_unless_asked_for_format_1_and_both_read_back()
    {
        string image = scratch.Once("init-format.img", p => RandomData.WriteFile(p, 700_000, seed: 46));
        string current = scratch["init-current"], old = scratch["init-old"];
        Assert.Contains("format 2", (await CircularCli.RunAsync("init", current)).Ok().Out);
        Assert.Contains("format 1", (await CircularCli.RunAsync("init", old, "--format", "1")).Ok().Out);
        foreach (var (archive, format) in new[] { (current, 2), (old, 1) })
        {
            (await CircularCli.RunAsync("push", archive, "os", image)).Ok();
            Assert.Equal(format, FormatOf(archive));
            // Fixed blocks in either: format 2 manifests carry the stored files' digests that clients check.
            Assert.Equal(format, File.ReadAllBytes(Path.Combine(archive, "images", "os", "versions", "1"))[8]);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(image))), await ShaOfAsync(archive, "os"));
            await ArchiveChecks.VerifyCleanAsync(archive);
        }
        var bad = await CircularCli.RunAsync("init", scratch["init-bad"], "--format", "3");
        Assert.Equal(2, bad.Code);
        Assert.Contains("archive formats 1 and 2", bad.Err);
        Assert.False(Directory.Exists(scratch["init-bad"]));
    }

    private static int FormatOf(string archive) =>
        (int)JsonNode.Parse(File.ReadAllText(Path.Combine(archive, "circular.json")))!["formatVersion"]!;
}
