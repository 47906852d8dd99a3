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
    private readonly string _dir = Directory.CreateTempSubdirectory("circular-nbd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MemoryCatalog BigCatalog() => MemoryCatalog.CreateDefault(size: 40 * MiB);

    [Fact]
    public async Task QemuImg_convert_from_export_is_byte_identical()
    {
        await using TestServer server = await TestServer.StartAsync(BigCatalog());
        string output = Path.Combine(_dir, "out.raw");
        await Tool.RunOkAsync("qemu-img", "qemu-utils", "convert", "-f", "raw", "-O", "raw", server.Uri("os"), output);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(server.Catalog.DataOf("os")));
        Assert.DoesNotContain("dropped", server.LogText);
    }

    [Fact]
    public async Task QemuImg_convert_to_writable_export_writes_every_byte()
    {
        var catalog = MemoryCatalog.CreateDefault(size: 8 * MiB);
        await using TestServer server = await TestServer.StartAsync(catalog, new NbdServerOptions { Writable = true });
        string input = Path.Combine(_dir, "in.raw");
        byte[] source = TestData.Sparse(8 * MiB, seed: 77);
        source.AsSpan(5 * MiB, 4096).Fill(0x11);
        await File.WriteAllBytesAsync(input, source);
        await Tool.RunOkAsync("qemu-img", "qemu-utils", "convert", "-n", "-f", "raw", "-O", "raw", input, server.Uri("os@2"));
        Assert.True(catalog.DataOf("os@2").AsSpan().SequenceEqual(source));
    }

    [Fact]
    public async Task Nbdinfo_list_shows_every_export()
    {
        await using TestServer server = await TestServer.StartAsync();
        Tool.Result result = await Tool.RunOkAsync("nbdinfo", "libnbd-bin", "--list", $"nbd://127.0.0.1:{server.Port}");
        Assert.Contains("export=\"os\"", result.Stdout);
        Assert.Contains("export=\"os@1\"", result.Stdout);
        Assert.Contains("export=\"os@2\"", result.Stdout);
        Assert.Contains("os, version 1", result.Stdout);
    }

    [Fact]
    public async Task Nbdinfo_map_shows_holes_of_a_sparse_image()
    {
        await using TestServer server = await TestServer.StartAsync();
        Tool.Result result = await Tool.RunOkAsync("nbdinfo", "libnbd-bin", "--map", server.Uri("os"));
        Assert.Contains("hole", result.Stdout);
        Assert.Contains("data", result.Stdout);
    }

    [Fact]
    public async Task Nbdinfo_reports_size_and_read_only()
    {
        await using TestServer server = await TestServer.StartAsync();
        Tool.Result result = await Tool.RunOkAsync("nbdinfo", "libnbd-bin", server.Uri("os@1"));
        Assert.Contains($"export-size: {4 * MiB}", result.Stdout);
        Assert.Contains("is_read_only: true", result.Stdout);
        Assert.Contains("can_multi_conn: true", result.Stdout);
        Assert.Contains("block_size_maximum: 33554432", result.Stdout);
    }

    [Fact]
    public async Task Nbdinfo_unknown_export_fails_and_the_server_keeps_serving()
    {
        await using TestServer server = await TestServer.StartAsync();
        Tool.Result bad = await Tool.RunAsync("nbdinfo", "libnbd-bin", [server.Uri("nope")]);
        Assert.NotEqual(0, bad.ExitCode);
        Tool.Result good = await Tool.RunOkAsync("nbdinfo", "libnbd-bin", "--size", server.Uri("os@1"));
        Assert.Equal($"{4 * MiB}", good.Stdout.Trim());
    }

    [Fact]
    public async Task Nbdcopy_to_null_reads_the_whole_export()
    {
        await using TestServer server = await TestServer.StartAsync(BigCatalog());
        await Tool.RunOkAsync("nbdcopy", "libnbd-bin", server.Uri("os"), "null:");
        Assert.DoesNotContain("dropped", server.LogText);
    }

    [Fact]
    public async Task Nbdcopy_with_multiple_connections_copies_exactly()
    {
        await using TestServer server = await TestServer.StartAsync(BigCatalog());
        string output = Path.Combine(_dir, "copy.raw");
        await Tool.RunOkAsync("nbdcopy", "libnbd-bin", "-C", "4", "-T", "4", server.Uri("os"), output);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(server.Catalog.DataOf("os")));
    }

    [Fact]
    public async Task QemuIo_write_on_writable_export_reads_back()
    {
        await using TestServer server = await TestServer.StartAsync(options: new NbdServerOptions { Writable = true });
        await Tool.RunOkAsync("qemu-io", "qemu-utils", "-f", "raw", "-c", "write -P 0x5a 1048576 65536", server.Uri("os"));
        byte[] data = server.Catalog.DataOf("os");
        Assert.All(data.AsSpan(MiB, 65536).ToArray(), b => Assert.Equal(0x5a, b));
        // A second client sees the write, and qemu-io checks the pattern itself.
        Tool.Result read = await Tool.RunOkAsync("qemu-io", "qemu-utils", "-f", "raw", "-c", "read -P 0x5a 1048576 65536", server.Uri("os"));
        Assert.DoesNotContain("Pattern verification failed", read.Stdout + read.Stderr);
    }

    [Fact]
    public async Task QemuIo_write_on_read_only_export_fails()
    {
        await using TestServer server = await TestServer.StartAsync();
        byte[] before = server.Catalog.DataOf("os").AsSpan(MiB, 65536).ToArray();
        Tool.Result result = await Tool.RunAsync("qemu-io", "qemu-utils", ["-f", "raw", "-c", "write -P 0x5a 1048576 65536", server.Uri("os")]);
        Assert.True(result.ExitCode != 0 || (result.Stdout + result.Stderr).Contains("failed"), result.ToString());
        Assert.Equal(before, server.Catalog.DataOf("os").AsSpan(MiB, 65536).ToArray());
    }

    [Fact]
    public async Task Unix_socket_serves_qemu_img_and_nbdinfo()
    {
        string socket = Path.Combine(_dir, "nbd.sock");
        await using TestServer server = await TestServer.StartAsync(endpoint: new UnixDomainSocketEndPoint(socket));
        string output = Path.Combine(_dir, "unix.raw");
        await Tool.RunOkAsync("qemu-img", "qemu-utils", "convert", "-f", "raw", "-O", "raw", $"nbd+unix:///os?socket={socket}", output);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(server.Catalog.DataOf("os")));
        Tool.Result size = await Tool.RunOkAsync("nbdinfo", "libnbd-bin", "--size", $"nbd+unix:///os@1?socket={socket}");
        Assert.Equal($"{4 * MiB}", size.Stdout.Trim());
    }
}
