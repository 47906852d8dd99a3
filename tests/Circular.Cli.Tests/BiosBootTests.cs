using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// `circular boot` of an image with no boot assets starts the disk's own boot loader (BIOS boot from the virtio
/// disk served over NBD). The image is one boot sector that prints a marker on COM1 and leaves QEMU through its
/// isa-debug-exit port, so the test needs no kernel and takes about a second.
/// </summary>
public sealed class BiosBootTests(Scratch scratch) : IClassFixture<Scratch>
{
    private const string Marker = "CIRC-BIOS-OK";

    [Fact]
    public async Task Boot_withoutBootAssets_startsTheDisksOwnBootLoader()
    {
        Tools.Run("qemu-system-x86_64", "--version"); // fails the test with an install hint when QEMU is missing
        string archive = await scratch.InitArchiveAsync("bios");
        string image = scratch["bios.img"];
        await File.WriteAllBytesAsync(image, BootDisk(4 << 20));
        await PushOutput.PushAsync(archive, "bios", image);

        var r = await CircularCli.RunAsync("boot", archive, "bios", "--accel", "tcg", "--ready-marker", Marker,
            "--", "-device", "isa-debug-exit,iobase=0xf4,iosize=4");

        Assert.Contains(Marker, r.Out);
        Assert.Contains("booted bios@1 (tcg)", r.Err);
        Assert.Contains("ready after", r.Err);
        // isa-debug-exit turns the guest's "out 0xf4, 0" into QEMU exit status 1, which boot passes on as a failure.
        Assert.Contains("qemu exited 1", r.Err);
    }

    [Fact]
    public async Task Boot_unknownVersion_failsWithoutStartingQemu()
    {
        string archive = await scratch.InitArchiveAsync("bios-missing");
        string image = scratch["bios-missing.img"];
        await File.WriteAllBytesAsync(image, BootDisk(1 << 20));
        await PushOutput.PushAsync(archive, "bios", image);

        var r = await CircularCli.RunAsync("boot", archive, "bios@7", "--accel", "tcg");

        Assert.NotEqual(0, r.Code);
        Assert.Contains("has no version 7", r.Err);
        Assert.DoesNotContain("SeaBIOS", r.Out);
    }

    /// <summary>A disk whose first sector prints <see cref="Marker"/> on COM1, then writes 0 to port 0xf4.</summary>
    private static byte[] BootDisk(int size)
    {
        byte[] msg = [.. System.Text.Encoding.ASCII.GetBytes(Marker + "\r\n"), 0];
        var code = new List<byte> { 0xBE, 0, 0, 0xBA, 0xF8, 0x03 }; // mov si, msg ; mov dx, 0x3f8
        int loop = code.Count;
        code.AddRange([0xAC, 0x84, 0xC0, 0x74, 0x03, 0xEE]);        // lodsb ; test al,al ; jz done ; out dx,al
        code.AddRange([0xEB, (byte)(loop - (code.Count + 2))]);      // jmp loop
        code.AddRange([0xB0, 0x00, 0xE6, 0xF4, 0xF4, 0xEB, 0xFD]);   // done: mov al,0 ; out 0xf4,al ; hlt ; jmp $-1
        int at = 0x7C00 + code.Count;
        code[1] = (byte)at;
        code[2] = (byte)(at >> 8);
        code.AddRange(msg);
        var disk = new byte[size];
        code.CopyTo(disk);
        disk[510] = 0x55;
        disk[511] = 0xAA;
        return disk;
    }
}
