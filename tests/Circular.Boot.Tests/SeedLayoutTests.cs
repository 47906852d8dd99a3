using Circular.Boot.Media;
using Circular.Boot.Seed;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Refs;

namespace Circular.Boot.Tests;

/// <summary>The pieces of a seed disk that need no QEMU: its partition table, formats, menu and boot-loader patches.</summary>
public sealed class SeedLayoutTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public void The_partition_table_reads_back_and_its_checksums_catch_damage()
    {
        const long size = 100L << 20;
        var parts = SeedDiskWriter.Layout(size, 20L << 20);
        string file = _s["disk.raw"];
        using (var disk = new FileStream(file, FileMode.Create, FileAccess.ReadWrite))
        {
            disk.SetLength(size);
            PartitionTable.Write(disk, size / 512, parts, new byte[440], Guid.NewGuid());
        }
        using (var disk = File.OpenRead(file))
        {
            var back = PartitionTable.Read(disk);
            Assert.Equal(parts, back);
        }
        // Partitions on MiB boundaries, in order, the last ending before the backup table.
        Assert.All(parts, p => Assert.Equal(0, p.Offset % (1 << 20)));
        Assert.Equal([PartitionTable.BiosBoot, PartitionTable.EfiSystem, PartitionTable.LinuxData], parts.Select(p => p.Type));
        Assert.True(parts[2].LastSector <= size / 512 - 34);
        var bytes = File.ReadAllBytes(file);
        Assert.Equal(0xEE, bytes[446 + 4]); // protective MBR
        Assert.Equal("EFI PART"u8.ToArray(), bytes.AsSpan((int)(size - 512), 8).ToArray()); // backup header at the end

        // A damaged entry array is caught by its checksum.
        bytes[1024 + 40] ^= 1;
        File.WriteAllBytes(file, bytes);
        using var damaged = File.OpenRead(file);
        Assert.Contains("checksum", Assert.Throws<ArchiveFormatException>(() => PartitionTable.Read(damaged)).Message);
    }

    [Fact]
    public void A_size_that_cannot_hold_the_boot_files_and_a_cache_is_refused_with_what_would_do()
    {
        var e = Assert.Throws<UsageException>(() => SeedDiskWriter.Layout(60L << 20, 20L << 20));
        Assert.Matches(@"use --size \d+M or more", e.Message);
        int needed = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"--size (\d+)M or more").Groups[1].Value);
        Assert.Equal(3, SeedDiskWriter.Layout((long)needed << 20, 20L << 20).Count); // and that size works
    }

    [Theory]
    [InlineData("a.img", "raw")]
    [InlineData("a.RAW", "raw")]
    [InlineData("a.qcow2", "qcow2")]
    [InlineData("a.vmdk", "vmdk")]
    [InlineData("a.vdi", "vdi")]
    [InlineData("a.vhdx", "vhdx")]
    [InlineData("a.vhd", "vpc")]
    public void The_file_name_gives_the_format(string file, string format) => Assert.Equal(format, DiskFormat.FromFileName(file)?.Name);

    [Fact]
    public void Formats_convert_with_the_options_hypervisors_need()
    {
        Assert.Null(DiskFormat.FromFileName("a.disk"));
        Assert.Contains("unknown disk format", Assert.Throws<UsageException>(() => DiskFormat.Parse("vhd2")).Message);
        Assert.Equal(["-O", "vmdk", "-o", "subformat=streamOptimized"], DiskFormat.Vmdk.ConvertArguments("streamOptimized"));
        Assert.Equal(["-O", "vmdk", "-o", "subformat=monolithicSparse"], DiskFormat.Vmdk.ConvertArguments(null));
        Assert.Contains("force_size=on", string.Join(' ', DiskFormat.Vpc.ConvertArguments(null)));
    }

    [Fact]
    public void The_menu_offers_the_choice_then_latest_tags_and_the_previous_version_once_each()
    {
        var refs = new ImageRefs {
            Image = "os",
            Latest = 3,
            Tags = new Dictionary<string, int> { ["stable"] = 2, ["old"] = 1 },
            Versions = [.. Enumerable.Range(1, 3).Select(v => new VersionEntry { Version = v, ManifestDigest = new string('a', 64) })],
        };
        var menu = SeedMenu.For(ImageSpec.Parse("os@stable"), refs, 2, ["http://m"], ["0123456789abcdef"], "uuid-1", "quiet");
        Assert.Equal(["os@stable", "os", "os@old", "os@1"], menu.Select(m => m.Image));
        Assert.All(menu, m => Assert.Contains("circular.cache=UUID=uuid-1 quiet", m.CommandLine));
        Assert.All(menu, m => Assert.Contains("circular.trust=0123456789abcdef", m.CommandLine));
        Assert.Contains("circular.image=os@1 ", menu[3].CommandLine);

        var latest = SeedMenu.For(ImageSpec.Parse("os"), refs with { Tags = [] }, 3, ["http://m"], [], "u", null);
        Assert.Equal(["os", "os@2"], latest.Select(m => m.Image));
    }

    [Fact]
    public void Menu_entries_answer_digit_keys()
    {
        string cfg = BootIso.GrubConfig([new BootEntry("a", "x"), new BootEntry("b", "y")], 5, "/circular/vmlinuz", "/circular/initramfs");
        Assert.Contains("menuentry \"[1] a\" --hotkey=1 {", cfg);
        Assert.Contains("menuentry \"[2] b\" --hotkey=2 {", cfg);
        Assert.Contains("linux /circular/vmlinuz y", cfg);
        // BIOS boots through the 16-bit protocol (5 s faster under TCG), UEFI through linux.
        Assert.Contains("if [ \"$grub_platform\" = pc ]; then\n        linux16 /circular/vmlinuz y\n        initrd16 /circular/initramfs\n    else", cfg);
        Assert.DoesNotContain("hotkey", BootIso.GrubConfig([new BootEntry("a", "x")], 5)); // one entry: nothing to pick
    }

    [Fact]
    public async Task The_boot_loader_is_told_where_its_core_image_is()
    {
        if (!File.Exists("/usr/lib/grub/i386-pc/boot.img")) throw new Xunit.Sdk.XunitException("GRUB for BIOS is missing: apt-get install grub-pc-bin");
        var grub = await GrubBootCode.BuildAsync("1234-abcd", _s.Dir, CancellationToken.None);
        var mbr = grub.MbrCode(2048);
        Assert.Equal(440, mbr.Length);
        Assert.Equal(2048, BitConverter.ToInt64(mbr, 0x5C));
        Assert.Equal(new byte[] { 0x90, 0x90 }, mbr[0x66..0x68]);
        var core = grub.CoreAt(2048);
        Assert.Equal(2049, BitConverter.ToInt64(core, 0x200 - 12));
        Assert.Equal((core.Length + 511) / 512 - 1, BitConverter.ToUInt16(core, 0x200 - 4));
        Assert.True(core.Length < 1 << 20, "core.img must fit the 1 MiB BIOS boot partition");
        Assert.Equal("MZ"u8.ToArray(), grub.EfiApplication[..2]);
    }
}
