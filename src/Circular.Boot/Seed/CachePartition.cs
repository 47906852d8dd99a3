using System.Globalization;
using Circular.Boot.Guest;
using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>
/// The seed disk's cache partition: an ext4 file system labelled CIRCULAR-CACHE, made by mkfs.ext4 straight into the
/// image file at the partition's offset (its inode tables and journal left for the kernel to initialise, so they cost
/// no space in the file), optionally filled from a staging directory (mkfs.ext4 -d). Its layout is docs/vmseed.md's.
/// </summary>
public static class CachePartition
{
    public const string Label = "CIRCULAR-CACHE";
    /// <summary>The layout version of the partition's contents (/circular-cache.json).</summary>
    public const int Format = 1;
    public const string MarkerFile = "circular-cache.json", CacheDir = "cache", TrustDir = "trust", LayersDir = "layers", StateFile = "state.json";

    public static void CheckInstalled()
    {
        if (!Programs.OnPath("mkfs.ext4")) throw new NotFoundException("mkfs.ext4 is needed to write a seed disk's cache partition: apt-get install e2fsprogs");
    }

    /// <summary>A staging directory with the partition's skeleton: fill its cache/ before <see cref="WriteAsync"/>.</summary>
    public static string CreateStaging(string workDir)
    {
        string root = Path.Combine(workDir, "cache-partition");
        Directory.CreateDirectory(Path.Combine(root, CacheDir));
        Directory.CreateDirectory(Path.Combine(root, TrustDir));
        Directory.CreateDirectory(Path.Combine(root, LayersDir));
        File.WriteAllText(Path.Combine(root, MarkerFile), $"{{\"format\": {Format}}}\n");
        // A spent random seed (Guest.RandomSeed): the file exists from the start, and each boot writes the next seed
        // over it in place; one made here would be known to whoever has a copy of the disk, so none is credited.
        File.WriteAllBytes(Path.Combine(root, RandomSeed.CacheFile), RandomSeed.SpentArchive());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(root, RandomSeed.CacheFile), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return root;
    }

    public static async Task WriteAsync(string disk, Partition p, Guid uuid, string staging, CancellationToken ct)
    {
        long kib = p.Length / 1024;
        // No metadata_csum_seed (newer mke2fs defaults turn it on): GRUB, which reads the random seed here, cannot.
        // One backup superblock (sparse_super2) instead of one every few groups, and the journal near the start: each
        // scattered piece of metadata touches another MiB of the file, which formats allocating whole MiB blocks (vdi)
        // pay for before the first boot.
        var r = await Programs.RunAsync("mkfs.ext4", ["-q", "-F", "-t", "ext4", "-L", Label, "-U", uuid.ToString(), "-m", "0", "-O", "sparse_super2,^metadata_csum_seed",
            "-E", $"offset={p.Offset.ToString(CultureInfo.InvariantCulture)},lazy_itable_init=1,lazy_journal_init=1,num_backup_sb=1", "-J", "size=4,location=2M",
            "-d", staging, disk, kib.ToString(CultureInfo.InvariantCulture) + "k"], TimeSpan.FromMinutes(30), ct).ConfigureAwait(false);
        if (!r.Ok) throw new CircularException($"mkfs.ext4 failed: {r.Output.Trim()}");
    }
}
