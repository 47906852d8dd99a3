using System.Globalization;
using Circular.Boot.Guest;
using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>
/// The seed disk's EFI system partition: a FAT file system (mtools, working on the image file at the partition's
/// offset: no mount, no root) holding GRUB's UEFI application, its menu, the kernel, the Circular initramfs and
/// the disk's description.
/// </summary>
public static class EspPartition
{
    public const string Label = "CIRCSEED";

    public static void CheckInstalled()
    {
        foreach (string tool in new[] { "mformat", "mmd", "mcopy", "mtype" })
            if (!Programs.OnPath(tool)) throw new NotFoundException($"{tool} is needed to write a seed disk's EFI partition: apt-get install mtools");
    }

    /// <summary>GRUB's name for a FAT file system's serial number (what search --fs-uuid matches).</summary>
    public static string GrubUuid(uint serial) => $"{serial >> 16:x4}-{serial & 0xFFFF:x4}";

    /// <summary>Formats the partition and copies <paramref name="files"/> (target path on the ESP → local file) into it.</summary>
    public static async Task WriteAsync(string disk, Partition p, uint serial, IReadOnlyDictionary<string, string> files, CancellationToken ct)
    {
        string image = $"{disk}@@{p.Offset}";
        long sectors = p.Length / PartitionTable.SectorSize;
        await RunAsync("mformat", ["-i", image, "-T", sectors.ToString(CultureInfo.InvariantCulture), "-h", "64", "-s", "32", "-v", Label,
            "-N", serial.ToString("x8", CultureInfo.InvariantCulture), "::"], ct).ConfigureAwait(false);
        var dirs = files.Keys.Select(k => Path.GetDirectoryName(k)!.Replace('\\', '/')).Where(d => d is not ("" or "/"))
            .SelectMany(Ancestors).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (dirs.Count > 0) await RunAsync("mmd", ["-i", image, .. dirs.Select(d => "::" + d)], ct).ConfigureAwait(false);
        foreach (var (target, local) in files)
            await RunAsync("mcopy", ["-i", image, local, "::" + target], ct).ConfigureAwait(false);
    }

    /// <summary>A file's bytes from a FAT partition of a raw disk image, or null when it has no such file.</summary>
    public static async Task<byte[]?> TryReadAsync(string disk, Partition p, string path, CancellationToken ct)
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"circular-esp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var r = await Programs.RunAsync("mcopy", ["-n", "-i", $"{disk}@@{p.Offset}", "::" + path, tmp], TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
            return r.Ok && File.Exists(tmp) ? await File.ReadAllBytesAsync(tmp, ct).ConfigureAwait(false) : null;
        }
        finally { File.Delete(tmp); }
    }

    private static IEnumerable<string> Ancestors(string dir)
    {
        var parts = dir.Trim('/').Split('/');
        for (int i = 1; i <= parts.Length; i++) yield return "/" + string.Join('/', parts[..i]);
    }

    private static async Task RunAsync(string tool, string[] args, CancellationToken ct)
    {
        var r = await Programs.RunAsync(tool, args, TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
        if (!r.Ok) throw new CircularException($"{tool} failed: {r.Output.Trim()}");
    }
}
