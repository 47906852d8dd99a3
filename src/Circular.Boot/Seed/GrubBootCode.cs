using System.Buffers.Binary;
using Circular.Boot.Guest;
using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>
/// GRUB for a seed disk, from Debian's grub-pc-bin and grub-efi-amd64-bin: a BIOS core image for the BIOS boot
/// partition plus the MBR code that loads it, and a UEFI application for the EFI system partition. Both carry their
/// modules and a two-line configuration that finds the ESP by its file system id and reads /grub/grub.cfg there, so
/// the ESP holds no module directories. grub-bios-setup is not used: it cannot work on an image file (it guesses the
/// root device), and its work here is two numbers (below).
/// </summary>
public sealed class GrubBootCode
{
    private const string PcDir = "/usr/lib/grub/i386-pc", EfiDir = "/usr/lib/grub/x86_64-efi";
    private const string CommonModules = "part_gpt fat ext2 search search_fs_uuid normal linux configfile echo serial terminal test sleep";

    // boot.img (grub-core/boot/i386/pc/boot.S): where it keeps the sector of core.img's first sector, and the jump that
    // skips the drive check (two NOPs for a hard disk: some BIOSes pass a wrong boot drive number).
    private const int KernelSectorOffset = 0x5C, DriveCheckOffset = 0x66;
    // diskboot.img, the first sector of core.img: its block list (start sector, sector count, segment) at the end.
    private const int BlockListStart = 0x200 - 12, BlockListLength = 0x200 - 4;

    private GrubBootCode(byte[] bootSector, byte[] core, byte[] efi)
    {
        BootSector = bootSector;
        Core = core;
        EfiApplication = efi;
    }

    /// <summary>boot.img as built: the first 440 bytes become the MBR's code once <see cref="MbrCode"/> patches them.</summary>
    public byte[] BootSector { get; }
    public byte[] Core { get; }
    /// <summary>BOOTX64.EFI, the removable-media path every UEFI firmware tries.</summary>
    public byte[] EfiApplication { get; }

    public static void CheckInstalled()
    {
        if (!Programs.OnPath("grub-mkimage")) throw new NotFoundException("grub-mkimage is needed to write a seed disk: apt-get install grub-common grub-pc-bin grub-efi-amd64-bin");
        foreach (var (dir, what, package) in new[] { (PcDir, "BIOS", "grub-pc-bin"), (EfiDir, "UEFI", "grub-efi-amd64-bin") })
            if (!File.Exists(Path.Combine(dir, "moddep.lst"))) throw new NotFoundException($"{dir} is missing (GRUB for {what}): apt-get install {package}");
    }

    /// <summary>Builds both images; they find the ESP by <paramref name="espUuid"/> (the FAT serial as GRUB prints it, XXXX-XXXX).</summary>
    public static async Task<GrubBootCode> BuildAsync(string espUuid, string workDir, CancellationToken ct)
    {
        CheckInstalled();
        string cfg = Path.Combine(workDir, "embed.cfg");
        await File.WriteAllTextAsync(cfg, $"search --no-floppy --fs-uuid --set=root {espUuid}\nset prefix=($root)/grub\n", ct).ConfigureAwait(false);
        string core = Path.Combine(workDir, "core.img"), efi = Path.Combine(workDir, "BOOTX64.EFI");
        await MakeImageAsync(["-O", "i386-pc", "-o", core, "-c", cfg, "-p", "/grub", "biosdisk", "linux16", .. CommonModules.Split(' ')], ct).ConfigureAwait(false);
        await MakeImageAsync(["-O", "x86_64-efi", "-o", efi, "-c", cfg, "-p", "/grub", "efi_gop", .. CommonModules.Split(' ')], ct).ConfigureAwait(false);
        return new GrubBootCode(await File.ReadAllBytesAsync(Path.Combine(PcDir, "boot.img"), ct).ConfigureAwait(false),
            await File.ReadAllBytesAsync(core, ct).ConfigureAwait(false), await File.ReadAllBytesAsync(efi, ct).ConfigureAwait(false));
    }

    private static async Task MakeImageAsync(string[] args, CancellationToken ct)
    {
        var r = await Programs.RunAsync("grub-mkimage", args, TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        if (!r.Ok) throw new CircularException($"grub-mkimage failed: {r.Output.Trim()}");
    }

    /// <summary>The MBR's 440 bytes of code: boot.img told where core.img starts, drive check off (what grub-bios-setup does).</summary>
    public byte[] MbrCode(long coreSector)
    {
        var code = BootSector.AsSpan(0, 440).ToArray();
        BinaryPrimitives.WriteInt64LittleEndian(code.AsSpan(KernelSectorOffset), coreSector);
        code[DriveCheckOffset] = 0x90;
        code[DriveCheckOffset + 1] = 0x90;
        return code;
    }

    /// <summary>core.img for a BIOS boot partition at <paramref name="coreSector"/>: its block list names the sectors after the first.</summary>
    public byte[] CoreAt(long coreSector)
    {
        var core = Core.ToArray();
        BinaryPrimitives.WriteInt64LittleEndian(core.AsSpan(BlockListStart), coreSector + 1);
        BinaryPrimitives.WriteUInt16LittleEndian(core.AsSpan(BlockListLength), (ushort)((core.Length + PartitionTable.SectorSize - 1) / PartitionTable.SectorSize - 1));
        return core;
    }
}
