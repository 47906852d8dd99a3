using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// Every input `push` names: container formats read through qemu-img (qcow2, vmdk, vdi, vhdx) publish the same
/// blocks as the raw image they hold; an ISO and a block device are read as they are.
/// </summary>
public sealed class ContainerFormatTests(Scratch scratch) : IClassFixture<Scratch>
{
    private string Raw() => scratch.Once("raw.img", path => TestImages.Ext4(path, TestImages.Tree(scratch["tree"], 3 << 20, seed: 31), "16M"));

    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk")]
    [InlineData("vdi")]
    [InlineData("vhdx")]
    public async Task A_container_of_a_raw_image_publishes_the_same_blocks(string format)
    {
        string raw = Raw();
        string container = scratch[$"disk.{format}"];
        Tools.Run("qemu-img", "convert", "-f", "raw", "-O", format, raw, container);
        string archive = await scratch.InitArchiveAsync("a-" + format);

        var fromRaw = await PushOutput.PushAsync(archive, "os", raw);
        var fromContainer = await PushOutput.PushAsync(archive, "os", container);

        Assert.Equal(fromRaw.Total, fromContainer.Total);
        Assert.Equal(0, fromContainer.New);
        Assert.Equal(fromRaw.Zero, fromContainer.Zero);
        Assert.Contains("0 of", (await CircularCli.RunAsync("diff", archive, "os@1", "os@2")).Ok().Out);
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", scratch[$"out-{format}"])).Ok();
        Files.AssertSameBytes(raw, scratch[$"out-{format}"]);
        Assert.False(Directory.Exists(Path.Combine(archive, ".tmp")) && Directory.EnumerateFileSystemEntries(Path.Combine(archive, ".tmp")).Any(),
            "the converted temporary raw file was left in the archive");
    }

    [Fact]
    public async Task An_iso_is_published_as_it_is()
    {
        string iso = scratch["disk.iso"];
        Tools.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", iso, TestImages.Tree(scratch["iso-tree"], 2 << 20, seed: 32));
        string archive = await scratch.InitArchiveAsync("a-iso");
        (await CircularCli.RunAsync("push", archive, "live", iso)).Ok();
        (await CircularCli.RunAsync("cat", archive, "live", "-o", scratch["out.iso"])).Ok();
        Files.AssertSameBytes(iso, scratch["out.iso"]);
    }

    [Fact]
    public async Task A_block_device_is_published_with_its_whole_size()
    {
        string raw = Raw();
        string device = Tools.Run("losetup", "--find", "--show", "--read-only", raw).Trim();
        try
        {
            string archive = await scratch.InitArchiveAsync("a-dev");
            var fromDevice = await PushOutput.PushAsync(archive, "os", device);
            var fromFile = await PushOutput.PushAsync(archive, "os", raw);
            Assert.Equal(fromDevice.Total, fromFile.Total);
            Assert.Equal(0, fromFile.New);
            (await CircularCli.RunAsync("cat", archive, "os@1", "-o", scratch["out-dev"])).Ok();
            Files.AssertSameBytes(raw, scratch["out-dev"]);
        }
        finally
        {
            Tools.Run("losetup", "-d", device);
        }
    }
}
