using System.Buffers.Binary;
using Circular.Boot.Guest;

namespace Circular.Boot.Kexec;

/// <summary>
/// The compressed initramfs this kernel booted with, found again on its boot medium, for the double-deck boot to hand
/// to the next kernel: the universal ISO names its path (circular.initrd=/boot/initramfs), and the file with that path
/// on a CD or whole disk (a hybrid ISO written to a stick) whose size is the one the boot loader gave the kernel
/// (/sys/kernel/boot_params) is taken. Linux before 6.x keeps no /sys/firmware/initrd to read it back from.
/// </summary>
public static class BootMediumInitramfs
{
    public const string BootParamsPath = "/sys/kernel/boot_params/data";

    /// <summary>The size of the initramfs the boot loader gave this kernel (x86 boot_params), or null when unknown or none.</summary>
    public static long? BootedSize(string bootParams = BootParamsPath)
    {
        try
        {
            byte[] b = File.ReadAllBytes(bootParams);
            // struct boot_params: ext_ramdisk_size at 0x0c4 (high 32 bits), setup_header's ramdisk_size at 0x21c.
            if (b.Length < 0x220) return null;
            ulong size = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(0x21c)) | (ulong)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(0xc4)) << 32;
            return size is 0 or > long.MaxValue ? null : (long)size;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Copies <paramref name="path"/> of size <paramref name="size"/> from the first ISO 9660 medium that has it to
    /// <paramref name="destination"/>; null when none has (the caller packs the running initramfs instead).
    /// </summary>
    public static async Task<string?> TryCopyAsync(string path, long size, string destination, string mountPoint, CancellationToken ct)
    {
        foreach (string device in Candidates())
        {
            Directory.CreateDirectory(mountPoint);
            var m = await Programs.RunAsync("mount", ["-t", "iso9660", "-o", "ro", device, mountPoint], TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
            if (!m.Ok) continue;
            try
            {
                string file = Path.Combine(mountPoint, path.TrimStart('/'));
                if (!File.Exists(file) || new FileInfo(file).Length != size) continue;
                await using (var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
                await using (var output = File.Create(destination))
                    await input.CopyToAsync(output, 1 << 20, ct).ConfigureAwait(false);
                return new FileInfo(destination).Length == size ? destination : null;
            }
            catch (IOException) { }
            finally { await Programs.RunAsync("umount", mountPoint).ConfigureAwait(false); }
        }
        return null;
    }

    /// <summary>CD drives first, then whole disks (a hybrid ISO on a stick is ISO 9660 from its first sector).</summary>
    private static IEnumerable<string> Candidates()
    {
        if (!Directory.Exists("/sys/class/block")) return [];
        var names = Directory.EnumerateDirectories("/sys/class/block").Select(Path.GetFileName).OfType<string>()
            .Where(n => !File.Exists(Path.Combine("/sys/class/block", n, "partition"))).ToList();
        return names.Where(n => n.StartsWith("sr", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Concat(names.Where(n => n.StartsWith("sd", StringComparison.Ordinal) || n.StartsWith("vd", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            .Select(n => "/dev/" + n);
    }
}
