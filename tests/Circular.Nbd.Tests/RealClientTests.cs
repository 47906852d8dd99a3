using System.Net.Sockets;
using Circular.Nbd.Tests.Support;

namespace Circular.Nbd.Tests;

/// <summary>
/// The clients people actually use against the server: qemu-img and qemu-io (qemu-utils), nbdinfo and
/// nbdcopy (libnbd-bin). These fail, never skip, when a tool is missing.
/// </summary>
public sealed class RealClientTests : IDisposable
{
    private const int MiB = 1024 * 1024;
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private static MemoryCatalog BigCatalog() => MemoryCatalog.CreateDefault(size: 40 * MiB);

    [Fact]
    public async Task QemuImg_convert_from_export_is_byte_identical()
    {
        await using TestServer server = await TestServer.StartAsync(BigCatalog());
        string output = _s["out.raw"];
        await Tools.RunAsync("qemu-img", "convert", "-f", "raw", "-O", "raw", server.Uri("os"), output);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(server.Catalog.DataOf("os")));
        Assert.DoesNotContain("dropped", server.LogText);
    }

    [Fact]
    public async Task QemuImg_convert_to_writable_export_writes_every_byte()
    {
        var catalog = MemoryCatalog.CreateDefault(size: 8 * MiB);
        await using TestServer server = await TestServer.StartAsync(catalog, new NbdServerOptions { Writable = true });
        string input = _s["in.raw"];
        byte[] source = TestData.Sparse(8 * MiB, seed: 77);
        source.AsSpan(5 * MiB, 4096).Fill(0x11);
        await File.WriteAllBytesAsync(input, source);
        await Tools.RunAsync("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", input, server.Uri("os@2"));
        Assert.True(catalog.DataOf("os@2").AsSpan().SequenceEqual(source));
    }

    [Fact]
    public async Task Nbdinfo_list_shows_every_export()
    {
        await using TestServer server = await TestServer.StartAsync();
        string result = await Tools.RunAsync("nbdinfo", "--list", $"nbd://127.0.0.1:{server.Port}");
        Assert.Contains("export=\"os\"", result);
        Assert.Contains("export=\"os@1\"", result);
        Assert.Contains("export=\"os@2\"", result);
        Assert.Contains("os, version 1", result);
    }

    [Fact]
    public async Task Nbdinfo_map_shows_holes_of_a_sparse_image()
    {
        await using TestServer server = await TestServer.StartAsync();
        string result = await Tools.RunAsync("nbdinfo", "--map", server.Uri("os"));
        Assert.Contains("hole", result);
        Assert.Contains("data", result);
    }

    [Fact]
    public async Task Nbdinfo_reports_size_and_read_only()
    {
        await using TestServer server = await TestServer.StartAsync();
        string result = await Tools.RunAsync("nbdinfo", server.Uri("os@1"));
        Assert.Contains($"export-size: {4 * MiB}", result);
        Assert.Contains("is_read_only: true", result);
        Assert.Contains("can_multi_conn: true", result);
        Assert.Contains("block_size_maximum: 33554432", result);
    }

    [Fact]
    public async Task Nbdinfo_unknown_export_fails_and_the_server_keeps_serving()
    {
        await using TestServer server = await TestServer.StartAsync();
        RunResult bad = await Tools.TryAsync("nbdinfo", [server.Uri("nope")]);
        Assert.NotEqual(0, bad.Code);
        string good = await Tools.RunAsync("nbdinfo", "--size", server.Uri("os@1"));
        Assert.Equal($"{4 * MiB}", good.Trim());
    }

    [Fact]
    public async Task Nbdcopy_to_null_reads_the_whole_export()
    {
        await using TestServer server = await TestServer.StartAsync(BigCatalog());
        await Tools.RunAsync("nbdcopy", server.Uri("os"), "null:");
        Assert.DoesNotContain("dropped", server.LogText);
    }

    [Fact]
    public async Task Nbdcopy_with_multiple_connections_copies_exactly()
    {
        await using TestServer server = await TestServer.StartAsync(BigCatalog());
        string output = _s["copy.raw"];
        await Tools.RunAsync("nbdcopy", "-C", "4", "-T", "4", server.Uri("os"), output);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(server.Catalog.DataOf("os")));
    }

    [Fact]
    public async Task QemuIo_write_on_writable_export_reads_back()
    {
        await using TestServer server = await TestServer.StartAsync(options: new NbdServerOptions { Writable = true });
        await Tools.RunAsync("qemu-io", "-f", "raw", "-c", "write -P 0x5a 1048576 65536", server.Uri("os"));
        byte[] data = server.Catalog.DataOf("os");
        Assert.All(data.AsSpan(MiB, 65536).ToArray(), b => Assert.Equal(0x5a, b));
        // A second client sees the write, and qemu-io checks the pattern itself.
        (await Tools.TryAsync("qemu-io", "-f", "raw", "-c", "read -P 0x5a 1048576 65536", server.Uri("os"))).PatternsMatch();
    }

    [Fact]
    public async Task QemuIo_write_on_read_only_export_fails()
    {
        await using TestServer server = await TestServer.StartAsync();
        byte[] before = server.Catalog.DataOf("os").AsSpan(MiB, 65536).ToArray();
        RunResult result = await Tools.TryAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 1048576 65536", server.Uri("os")]);
        Assert.True(result.Code != 0 || (result.Out + result.Err).Contains("failed"), result.ToString());
        Assert.Equal(before, server.Catalog.DataOf("os").AsSpan(MiB, 65536).ToArray());
    }

    [Fact]
    public async Task Unix_socket_serves_qemu_img_and_nbdinfo()
    {
        string socket = _s["nbd.sock"];
        await using TestServer server = await TestServer.StartAsync(endpoint: new UnixDomainSocketEndPoint(socket));
        string output = _s["unix.raw"];
        await Tools.RunAsync("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd+unix:///os?socket={socket}", output);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(server.Catalog.DataOf("os")));
        string size = await Tools.RunAsync("nbdinfo", "--size", $"nbd+unix:///os@1?socket={socket}");
        Assert.Equal($"{4 * MiB}", size.Trim());
    }
}
