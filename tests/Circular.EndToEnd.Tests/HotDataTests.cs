using System.Text.Json;
using Circular.EndToEnd.Tests.Support;

namespace Circular.EndToEnd.Tests;

/// <summary>Issue 6: profiles recorded by a front end, stored with a version, packed by optimize, used by readers.</summary>
public sealed class HotDataTests(Ext4Image img) : IClassFixture<Ext4Image>, IDisposable
{
    private readonly Scratch _s = new();
    private const string N = Ext4Image.Name;

    /// <summary>Reads the given (offset, length) ranges through `circular nbd --record-profile` and returns the profile's entries.</summary>
    private async Task<List<long[]>> RecordAsync(string archive, string profile, params (long Offset, int Length)[] reads)
    {
        string sock = _s["rec.sock"];
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--cache", "none", "--record-profile", profile);
        var args = new List<string> { "-r", "-f", "raw" };
        foreach (var (o, l) in reads) args.AddRange(["-c", $"read {o} {l}"]);
        args.Add($"nbd+unix:///{N}@1?socket={sock}");
        Tools.Run("qemu-io", [.. args]);
        await nbd.StopAsync("TERM");
        Assert.Contains("recorded a profile of os@1", nbd.Err, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(profile));
        return doc.RootElement.GetProperty("reads").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToList();
    }

    /// <summary>Offsets of pages holding data (not zeros) at least 1 MiB apart: reads there land in packs.</summary>
    private long[] DataPages()
    {
        var list = new List<long>();
        using var f = File.OpenRead(img.Image);
        var page = new byte[4096];
        for (long off = 0; off < f.Length; off += 4096)
        {
            f.Position = off;
            f.ReadExactly(page);
            if (page.AsSpan().ContainsAnyExcept((byte)0) && (list.Count == 0 || off - list[^1] >= 1 << 20)) list.Add(off);
        }
        return [.. list];
    }

    private static int IndexOf(List<long[]> reads, long offset) => reads.FindIndex(r => r[1] <= offset && offset < r[1] + r[2]);

    [Fact]
    public async Task Recorded_profile_is_pushed_packed_and_served_from_packs_with_exact_bytes()
    {
        string archive = await img.NewArchiveAsync(_s["archive"]);
        string profile = _s["boot.profile"];
        var reads = await RecordAsync(archive, profile, (3 << 20, 8192), (0, 4096), (40 << 20, 100));
        Assert.True(IndexOf(reads, 3 << 20) < IndexOf(reads, 0) && IndexOf(reads, 0) < IndexOf(reads, 40 << 20),
            "the profile does not keep the order of first reads: " + string.Join(" ", reads.Select(r => $"[{string.Join(",", r)}]")));
        Assert.All(reads, r => Assert.Equal(0, r[1] % 4096));

        var pushed = (await CircularCli.RunAsync("profile", "push", archive, $"{N}@1", profile)).Ok();
        Assert.Contains("stored profile", pushed.Out, StringComparison.Ordinal);
        var optimized = (await CircularCli.RunAsync("optimize", archive, $"{N}@{Ext4Image.Tag}")).Ok();
        Assert.Contains("into 1 packs", optimized.Out, StringComparison.Ordinal);
        // The index gives each pack file's SHA-256 as stored, so readers check the compressed file, not its content.
        var index = Core.HotData.PackIndex.Parse(File.ReadAllBytes(Directory.GetFiles(Path.Combine(archive, "images", N, "packs")).Single()), "index");
        foreach (var pack in index.Packs)
            Assert.Equal(Core.Chunks.ChunkId.Compute(File.ReadAllBytes(Path.Combine(archive, "packs", pack.Id[..2], pack.Id))).ToHex(), pack.StoredDigest);
        var show = (await CircularCli.RunAsync("profile", "show", archive, $"{N}@1")).Ok();
        Assert.Contains("1 packs", show.Out, StringComparison.Ordinal);
        Assert.Contains("1 packs: all good", (await CircularCli.RunAsync("verify", archive)).Ok().Out, StringComparison.Ordinal);

        // Over HTTP with a cold cache: the whole image reads back exactly, the profiled pages from the pack.
        int port = Ports.Free();
        await using var serve = await CircularCli.StartAsync("serving", "serve", archive, "--listen", $"127.0.0.1:{port}");
        string sock = _s["http.sock"];
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", $"http://127.0.0.1:{port}", "--socket", sock, "--cache", _s["cache"]))
        {
            Tools.Run("qemu-io", "-r", "-f", "raw", "-c", $"read -P 0 {40 << 20} 0", $"nbd+unix:///{N}?socket={sock}"); // opens the export
            Tools.Run("nbdcopy", $"nbd+unix:///{N}?socket={sock}", _s["copy.img"]);
            await nbd.StopAsync("TERM");
            Assert.Contains("packs: 1 of 1 loaded", nbd.Err, StringComparison.Ordinal);
            Assert.Contains("prefetched 1 of 1 objects", nbd.Err, StringComparison.Ordinal);
        }
        Files.AssertSameBytes(img.Image, _s["copy.img"]);

        // --no-packs and --no-prefetch: the version reads as it did before it had either.
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", $"http://127.0.0.1:{port}", "--socket", sock, "--cache", _s["cache2"], "--no-packs", "--no-prefetch"))
        {
            Tools.Run("nbdcopy", $"nbd+unix:///{N}?socket={sock}", _s["plain.img"]);
            await nbd.StopAsync("TERM");
            Assert.DoesNotContain("packs:", nbd.Err, StringComparison.Ordinal);
            Assert.DoesNotContain("prefetched", nbd.Err, StringComparison.Ordinal);
        }
        Files.AssertSameBytes(img.Image, _s["plain.img"]);
    }

    [Fact]
    public async Task Tampered_pack_index_and_corrupt_pack_cost_speed_not_data()
    {
        string archive = await img.NewArchiveAsync(_s["archive"]);
        var data = DataPages();
        await RecordAsync(archive, _s["p"], (data[1], 65536), (data[2], 4096));
        (await CircularCli.RunAsync("profile", "push", archive, N, _s["p"])).Ok();
        (await CircularCli.RunAsync("optimize", archive, N)).Ok();

        string pack = Directory.GetFiles(Path.Combine(archive, "packs"), "*", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(pack);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(pack, bytes);
        var verify = await CircularCli.RunAsync("verify", archive);
        Assert.Equal(1, verify.Code);
        Assert.Contains("pack " + Path.GetFileName(pack), verify.Out + verify.Err, StringComparison.Ordinal);

        string sock = _s["s.sock"];
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--cache", "none"))
        {
            Tools.Run("nbdcopy", $"nbd+unix:///{N}?socket={sock}", _s["a.img"]);
            await nbd.StopAsync("TERM");
            Assert.Contains("without pack 0", nbd.Err, StringComparison.Ordinal);
        }
        Files.AssertSameBytes(img.Image, _s["a.img"]);

        // An index that does not match the digest its refs name is not used at all.
        string index = Directory.GetFiles(Path.Combine(archive, "images", N, "packs")).Single();
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"regions\":[[", "\"regions\":[[0,4096,0,0],[", StringComparison.Ordinal));
        await using (var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--socket", sock, "--cache", "none"))
        {
            Tools.Run("nbdcopy", $"nbd+unix:///{N}?socket={sock}", _s["b.img"]);
            await nbd.StopAsync("TERM");
            Assert.Contains("not using the packs of os@1", nbd.Err, StringComparison.Ordinal);
        }
        Files.AssertSameBytes(img.Image, _s["b.img"]);
    }

    [Fact]
    public async Task Gc_keeps_the_packs_versions_use_and_deletes_replaced_ones()
    {
        string archive = await img.NewArchiveAsync(_s["archive"]);
        var data = DataPages();
        await RecordAsync(archive, _s["p1"], (data[1], 4096));
        (await CircularCli.RunAsync("profile", "push", archive, N, _s["p1"])).Ok();
        (await CircularCli.RunAsync("optimize", archive, N)).Ok();
        string[] packs() => Directory.GetFiles(Path.Combine(archive, "packs"), "*", SearchOption.AllDirectories);
        var first = packs().Single();

        (await CircularCli.RunAsync("gc", archive)).Ok();
        Assert.Equal([first], packs());

        await RecordAsync(archive, _s["p2"], (data[2], 4096));
        (await CircularCli.RunAsync("profile", "push", archive, N, _s["p2"])).Ok();
        (await CircularCli.RunAsync("optimize", archive, N)).Ok();
        Assert.Equal(2, packs().Length);
        var gc = (await CircularCli.RunAsync("gc", archive)).Ok();
        Assert.Contains("3 profiles, pack indexes and packs", gc.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(first, packs());
        Assert.Single(packs());
        Assert.Contains("all good", (await CircularCli.RunAsync("verify", archive)).Ok().Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_profile_commands_fail_with_one_line()
    {
        string archive = await img.NewArchiveAsync(_s["archive"]);
        (await CircularCli.RunAsync("optimize", archive, N)).FailsWithOneLine("has no profile");
        File.WriteAllText(_s["junk"], "{\"hello\": 1}");
        (await CircularCli.RunAsync("profile", "push", archive, N, _s["junk"])).FailsWithOneLine("not a Circular boot profile");
        (await CircularCli.RunAsync("profile", "push", archive, N, _s["missing"])).FailsWithOneLine("no profile file");

        await RecordAsync(archive, _s["p"], (0, 4096));
        File.WriteAllText(_s["other"], File.ReadAllText(_s["p"]).Replace($"\"size\":{Ext4Image.Size}", "\"size\":134217728", StringComparison.Ordinal));
        (await CircularCli.RunAsync("profile", "push", archive, N, _s["other"])).FailsWithOneLine("was recorded on a 134217728-byte image");
        (await CircularCli.RunAsync("profile", "push", archive, $"{N}@7", _s["p"])).FailsWithOneLine("no version 7");
        (await CircularCli.RunAsync("optimize", archive, N, "--pack-size", "1K")).FailsWithOneLine("--pack-size");
        Assert.Equal("no profile", (await CircularCli.RunAsync("profile", "show", archive, N)).Ok().Out.Trim()[^10..]);
    }

    public void Dispose() => _s.Dispose();
}
