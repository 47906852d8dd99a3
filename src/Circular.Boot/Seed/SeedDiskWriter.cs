using System.Security.Cryptography;
using Circular.Boot.Guest;
using Circular.Boot.Media;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Seed;

/// <summary>What goes on a seed disk.</summary>
public sealed record SeedDiskRequest
{
    public required string Output { get; init; }
    public required DiskFormat Format { get; init; }
    public string? VmdkSubformat { get; init; }
    /// <summary>The disk's size as the virtual machine sees it (rounded up to a whole MiB).</summary>
    public required long Size { get; init; }
    public required string Kernel { get; init; }
    public required string Initramfs { get; init; }
    /// <summary>The boot menu, the default entry first; <see cref="SeedDescription.Menu"/> repeats it.</summary>
    public required SeedDescription Description { get; init; }
    /// <summary>The cache partition's contents (<see cref="CachePartition.CreateStaging"/>, filled or not).</summary>
    public required string CacheStaging { get; init; }
    public Guid CacheUuid { get; init; } = Guid.NewGuid();
    public int MenuTimeoutSeconds { get; init; } = 5;
    public bool Force { get; init; }
}

/// <summary>
/// Writes a seed disk (docs/vmseed.md): a GPT disk with a BIOS boot partition (GRUB's core image), an EFI system
/// partition (GRUB for UEFI, the menu, the kernel, the Circular initramfs) and the cache partition filling the rest.
/// It is built as a sparse raw file without root or loop devices and converted by qemu-img to the format asked
/// for; the output appears whole (renamed into place) or not at all.
/// </summary>
public static class SeedDiskWriter
{
    private const long MiB = 1 << 20;
    /// <summary>The smallest cache partition worth having: a boot reads tens of MiB.</summary>
    public const long MinimumCache = 64 * MiB;
    private const long BiosBootStart = 1 * MiB, BiosBootSize = 1 * MiB, EspStart = BiosBootStart + BiosBootSize;
    public const string KernelPath = "/circular/vmlinuz", InitramfsPath = "/circular/initramfs", DescriptionPath = "/circular/seed.json";

    public static void CheckInstalled(DiskFormat format)
    {
        GrubBootCode.CheckInstalled();
        EspPartition.CheckInstalled();
        CachePartition.CheckInstalled();
        if (format != DiskFormat.Raw && !Programs.OnPath("qemu-img")) throw new NotFoundException($"qemu-img is needed to write a {format.Name} disk: apt-get install qemu-utils");
    }

    /// <summary>The disk's partitions for boot files of <paramref name="bootBytes"/> bytes; UsageException when the size cannot hold them.</summary>
    public static IReadOnlyList<Partition> Layout(long size, long bootBytes)
    {
        size = RoundedSize(size);
        long sectors = size / PartitionTable.SectorSize;
        // The boot files, GRUB's UEFI application and a fifth more for a later kernel, in whole MiB.
        long esp = Math.Max(16 * MiB, (bootBytes + bootBytes / 5 + 2 * MiB + MiB - 1) / MiB * MiB);
        long cacheStart = EspStart + esp;
        long last = PartitionTable.Usable(sectors).Last;
        long minimum = cacheStart + MinimumCache + MiB;
        if (size < minimum)
            throw new UsageException($"--size {ByteSize.Format(size)} is too small: the boot files need {ByteSize.Format(cacheStart)} and the cache at least " +
                $"{ByteSize.Format(MinimumCache)}; use --size {(minimum + MiB - 1) / MiB}M or more");
        const int s = PartitionTable.SectorSize;
        return
        [
            new(PartitionTable.BiosBoot, Guid.NewGuid(), BiosBootStart / s, (BiosBootStart + BiosBootSize) / s - 1, "BIOS boot"),
            new(PartitionTable.EfiSystem, Guid.NewGuid(), EspStart / s, cacheStart / s - 1, "EFI system"),
            new(PartitionTable.LinuxData, Guid.NewGuid(), cacheStart / s, last, "Circular cache"),
        ];
    }

    /// <summary>Disks are whole MiB: every format and hypervisor takes that size as it is.</summary>
    public static long RoundedSize(long size) => (size + MiB - 1) / MiB * MiB;

    public static async Task WriteAsync(SeedDiskRequest r, ILogger log, CancellationToken ct)
    {
        CheckInstalled(r.Format);
        string output = Path.GetFullPath(r.Output);
        if (File.Exists(output) && !r.Force) throw new UsageException($"{r.Output} exists: give --force to replace it");
        if (Directory.Exists(output)) throw new UsageException($"{r.Output} is a directory");
        string dir = Path.GetDirectoryName(output)!;
        if (!Directory.Exists(dir)) throw new NotFoundException($"{dir}: no such directory");
        long size = RoundedSize(r.Size);

        string work = Directory.CreateTempSubdirectory("circular-seed-").FullName;
        // Beside the output (the same file system, which has the room): the raw disk, then the converted one.
        string raw = r.Format == DiskFormat.Raw ? output + $".partial-{Environment.ProcessId}" : Path.Combine(dir, $".{Path.GetFileName(output)}.raw-{Environment.ProcessId}");
        string partial = output + $".partial-{Environment.ProcessId}";
        try
        {
            uint serial = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4));
            var grub = await GrubBootCode.BuildAsync(EspPartition.GrubUuid(serial), work, ct).ConfigureAwait(false);
            string efi = Path.Combine(work, "BOOTX64.EFI");
            string cfg = Path.Combine(work, "grub.cfg");
            string description = Path.Combine(work, "seed.json");
            var entries = r.Description.Menu.Select(m => new BootEntry(m.Title, m.CommandLine)).ToList();
            await File.WriteAllTextAsync(cfg, BootIso.GrubConfig(entries, r.MenuTimeoutSeconds, KernelPath, InitramfsPath, r.CacheUuid), ct).ConfigureAwait(false);
            await File.WriteAllBytesAsync(description, r.Description.ToJson(), ct).ConfigureAwait(false);
            long bootBytes = new FileInfo(r.Kernel).Length + new FileInfo(r.Initramfs).Length + grub.EfiApplication.Length;
            var parts = Layout(size, bootBytes);

            using (var disk = new FileStream(raw, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                disk.SetLength(size);
                PartitionTable.Write(disk, size / PartitionTable.SectorSize, parts, grub.MbrCode(parts[0].FirstSector), Guid.NewGuid());
                disk.Position = parts[0].Offset;
                disk.Write(grub.CoreAt(parts[0].FirstSector));
            }
            await EspPartition.WriteAsync(raw, parts[1], serial, new Dictionary<string, string> {
                ["/EFI/BOOT/BOOTX64.EFI"] = efi,
                ["/grub/grub.cfg"] = cfg,
                [KernelPath] = r.Kernel,
                [InitramfsPath] = r.Initramfs,
                [DescriptionPath] = description,
            }, ct).ConfigureAwait(false);
            log.LogInformation("boot partitions written ({Size} of boot files)", ByteSize.Format(bootBytes));
            await CachePartition.WriteAsync(raw, parts[2], r.CacheUuid, r.CacheStaging, ct).ConfigureAwait(false);
            log.LogInformation("cache partition: {Size} (label {Label})", ByteSize.Format(parts[2].Length), CachePartition.Label);

            if (r.Format != DiskFormat.Raw)
            {
                var c = await Programs.RunAsync("qemu-img", ["convert", "-f", "raw", .. r.Format.ConvertArguments(r.VmdkSubformat), raw, partial],
                    TimeSpan.FromHours(2), ct).ConfigureAwait(false);
                if (!c.Ok) throw new CircularException($"qemu-img convert to {r.Format.Name} failed: {c.Output.Trim()}");
            }
            File.Move(r.Format == DiskFormat.Raw ? raw : partial, output, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
            File.Delete(raw);
            Directory.Delete(work, recursive: true);
        }
    }
}
