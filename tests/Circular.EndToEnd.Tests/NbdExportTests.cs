using Circular.EndToEnd.Tests.Support;

namespace Circular.EndToEnd.Tests;

/// <summary>Issue 4, NBD: `circular nbd` as a process, read by qemu-img, nbdinfo, nbdcopy and qemu-io.</summary>
public sealed class NbdExportTests(Ext4Image img) : IClassFixture<Ext4Image>, IDisposable
{
    private readonly Scratch _s = new();
    private const string N = Ext4Image.Name;

    [Fact]
    public async Task Tcp_exports_copy_exactly_map_holes_list_versions_and_survive_bad_requests()
    {
        int port = Ports.Free();
        string host = $"127.0.0.1:{port}";
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", img.Archive, "--listen", host, "--cache", "none");

        Tools.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd://{host}/{N}", _s["out.img"]);
        Files.AssertSameBytes(img.Image, _s["out.img"]);

        var info = Tools.Run("qemu-img", "info", "--output=json", $"nbd://{host}/{N}@{Ext4Image.Tag}");
        Assert.Contains($"\"virtual-size\": {Ext4Image.Size}", info, StringComparison.Ordinal);

        // base:allocation: the unused parts of the file system are holes, and data and holes cover the whole image.
        var map = Tools.Run("nbdinfo", "--map", $"nbd://{host}/{N}");
        var rows = map.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Contains(rows, r => r.Contains("hole,zero"));
        Assert.Contains(rows, r => r[^1] == "data");
        long covered = rows.Sum(r => long.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Ext4Image.Size, covered);
        long holes = rows.Where(r => r.Contains("hole,zero")).Sum(r => long.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(holes > Ext4Image.Size / 2, $"expected most of a mostly empty file system to be holes:\n{map}");

        var list = Tools.Run("nbdinfo", "--list", $"nbd://{host}");
        foreach (var name in new[] { N, $"{N}@1", $"{N}@{Ext4Image.Tag}" })
            Assert.Contains($"export=\"{name}\"", list, StringComparison.Ordinal);

        // An unknown export is refused; the server keeps serving the others.
        var unknown = Tools.Try("nbdinfo", $"nbd://{host}/no-such-image");
        Assert.NotEqual(0, unknown.Code);
        var unknownVersion = Tools.Try("nbdinfo", $"nbd://{host}/{N}@99");
        Assert.NotEqual(0, unknownVersion.Code);
        Assert.False(nbd.HasExited, "the server died after a request for an unknown export\n" + nbd.Err);
        Tools.Run("nbdcopy", $"nbd://{host}/{N}@1", _s["copy.img"]);
        Files.AssertSameBytes(img.Image, _s["copy.img"]);

        // Writes to a read-only export are refused, and nothing changes.
        var write = Tools.Try("qemu-io", "-f", "raw", "-c", "write -P 0x55 0 4k", $"nbd://{host}/{N}");
        Assert.NotEqual(0, write.Code);
        Assert.Contains("ermission denied", write.Out + write.Err, StringComparison.Ordinal);
        Tools.Try("qemu-io", "-r", "-f", "raw", "-c", "read -P 0 0 1k", $"nbd://{host}/{N}").PatternsMatch();

        await nbd.StopAsync("TERM");
        Assert.NotEqual(0, Tools.Try("nbdinfo", $"nbd://{host}/{N}").Code); // nothing listens any more
    }

    [Fact]
    public async Task Unix_socket_exports_every_version()
    {
        string sock = _s["nbd.sock"];
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", img.Archive, "--socket", sock, "--cache", "none");

        Tools.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd+unix:///{N}@{Ext4Image.Tag}?socket={sock}", _s["tag.img"]);
        Files.AssertSameBytes(img.Image, _s["tag.img"]);
        Tools.Run("nbdcopy", $"nbd+unix:///{N}@1?socket={sock}", _s["v1.img"]);
        Files.AssertSameBytes(img.Image, _s["v1.img"]);
        Assert.Contains($"export=\"{N}@1\"", Tools.Run("nbdinfo", "--list", $"nbd+unix://?socket={sock}"), StringComparison.Ordinal);
        Assert.NotEqual(0, Tools.Try("nbdinfo", $"nbd+unix:///missing?socket={sock}").Code);

        await nbd.StopAsync("INT");
        Assert.False(File.Exists(sock), "the Unix socket was left behind");
    }

    [Fact]
    public async Task Archive_over_http_is_served_as_nbd_exports()
    {
        int httpPort = Ports.Free();
        await using var serve = await CircularCli.StartAsync("serving", "serve", img.Archive, "--listen", $"127.0.0.1:{httpPort}");
        string host = $"127.0.0.1:{Ports.Free()}";
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", $"http://127.0.0.1:{httpPort}", "--listen", host, "--cache", _s["cache"]);

        Tools.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd://{host}/{N}@{Ext4Image.Tag}", _s["http.img"]);
        Files.AssertSameBytes(img.Image, _s["http.img"]);
        Assert.Contains($"export=\"{N}@1\"", Tools.Run("nbdinfo", "--list", $"nbd://{host}"), StringComparison.Ordinal);

        await nbd.StopAsync("TERM");
        await serve.StopAsync("TERM");
    }

    public void Dispose() => _s.Dispose();
}
