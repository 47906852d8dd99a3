using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>Container formats are read through qemu-img: a qcow2 of an image publishes the same blocks as the raw image.</summary>
public sealed class Qcow2Tests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task Push_qcow2OfRawImage_storesTheSameBlocks()
    {
        string raw = TestImages.Ext4(scratch["raw.img"], TestImages.Tree(scratch["tree"], 3 << 20, seed: 31), "16M");
        string qcow = scratch["disk.qcow2"];
        Tools.Run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow);
        string archive = await scratch.InitArchiveAsync("a");

        var fromRaw = await PushOutput.PushAsync(archive, "os", raw);
        var fromQcow = await PushOutput.PushAsync(archive, "os", qcow);

        Assert.Equal(fromRaw.Total, fromQcow.Total);
        Assert.Equal(0, fromQcow.New);
        Assert.Equal(fromRaw.Zero, fromQcow.Zero);
        Assert.Contains("0 of", (await CircularCli.RunAsync("diff", archive, "os@1", "os@2")).Ok().Out);
        (await CircularCli.RunAsync("cat", archive, "os@2", "-o", scratch["out"])).Ok();
        Files.AssertSameBytes(raw, scratch["out"]);
        Assert.False(Directory.Exists(Path.Combine(archive, ".tmp")) && Directory.EnumerateFileSystemEntries(Path.Combine(archive, ".tmp")).Any(),
            "the converted temporary raw file was left in the archive");
    }
}
