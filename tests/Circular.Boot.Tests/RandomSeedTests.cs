using System.Text;
using Circular.Boot.Guest;
using Circular.Boot.Media;

namespace Circular.Boot.Tests;

/// <summary>
/// The seed disk's random seed (RandomSeed): an archive GRUB loads before the initramfs, credited to the kernel by the
/// client before anything reads randomness, and replaced in place each boot.
/// </summary>
public sealed class RandomSeedTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public void The_archive_holds_the_seed_as_one_newc_file()
    {
        byte[] seed = Enumerable.Range(0, RandomSeed.SeedBytes).Select(i => (byte)(i * 7 + 1)).ToArray();
        byte[] archive = RandomSeed.Archive(seed);
        Assert.Equal("070701", Encoding.ASCII.GetString(archive, 0, 6));
        // 110-byte header, "random-seed\0" padded to 4, then the data: the kernel unpacks it to /random-seed.
        Assert.Equal("random-seed\0", Encoding.ASCII.GetString(archive, 110, 12));
        Assert.Equal(seed, archive[124..(124 + seed.Length)]);
        Assert.Equal(RandomSeed.SeedBytes, Convert.ToInt32(Encoding.ASCII.GetString(archive, 6 + 6 * 8, 8), 16)); // c_filesize
        Assert.Contains("TRAILER!!!", Encoding.ASCII.GetString(archive));
        Assert.Equal(0, archive.Length % 4);
        // Every archive has the same length, so each boot rewrites the file's blocks in place.
        Assert.Equal(archive.Length, RandomSeed.NewArchive().Length);
        Assert.NotEqual(RandomSeed.NewArchive(), RandomSeed.NewArchive());
        Assert.Throws<ArgumentException>(() => RandomSeed.Archive(new byte[16]));
    }

    [Fact]
    public void A_seed_is_credited_once_and_a_spent_or_short_one_never()
    {
        string seed = _s["random-seed"];
        Assert.False(RandomSeed.Credit(seed)); // none
        File.WriteAllBytes(seed, new byte[RandomSeed.SeedBytes]);
        Assert.False(RandomSeed.Credit(seed)); // all zeros: spent
        Assert.False(File.Exists(seed));
        File.WriteAllBytes(seed, new byte[] { 1, 2, 3 });
        Assert.False(RandomSeed.Credit(seed)); // not a whole seed
        File.WriteAllBytes(seed, System.Security.Cryptography.RandomNumberGenerator.GetBytes(RandomSeed.SeedBytes));
        // Crediting entropy (RNDADDENTROPY) takes CAP_SYS_ADMIN: with it (root in CI) the kernel takes it, otherwise refuses.
        Assert.Equal(HasCapSysAdmin(), RandomSeed.Credit(seed));
        Assert.False(File.Exists(seed)); // used once, whatever the kernel said
        Assert.False(RandomSeed.Credit(seed));
    }

    [Fact]
    public void A_refresh_writes_a_new_seed_over_the_old_one_in_place()
    {
        RandomSeed.Refresh(_s.Dir);
        string file = Path.Combine(_s.Dir, RandomSeed.CacheFile);
        byte[] first = File.ReadAllBytes(file);
        long inode = Inode(file);
        RandomSeed.Refresh(_s.Dir);
        byte[] second = File.ReadAllBytes(file);
        Assert.Equal(first.Length, second.Length);
        Assert.NotEqual(first, second);
        Assert.Equal(inode, Inode(file)); // the same file (GRUB, not replaying the journal, must see the new bytes)
    }

    [Fact]
    public void A_seed_disks_menu_loads_the_seed_before_the_initramfs_when_there_is_one()
    {
        var uuid = Guid.Parse("c93af10e-2f22-4899-af74-227e99f10601");
        string cfg = BootIso.GrubConfig([new BootEntry("a", "x")], 0, "/circular/vmlinuz", "/circular/initramfs", uuid);
        Assert.Contains("if search --no-floppy --fs-uuid --set=circular_cache c93af10e-2f22-4899-af74-227e99f10601; then", cfg);
        Assert.Contains("if [ -f ($circular_cache)/random-seed.cpio ]; then set circular_seed=($circular_cache)/random-seed.cpio; fi", cfg);
        Assert.Contains("if [ -n \"$circular_seed\" ]; then initrd16 $circular_seed /circular/initramfs; else initrd16 /circular/initramfs; fi", cfg);
        Assert.Contains("if [ -n \"$circular_seed\" ]; then initrd $circular_seed /circular/initramfs; else initrd /circular/initramfs; fi", cfg);
        Assert.DoesNotContain("circular_seed", BootIso.GrubConfig([new BootEntry("a", "x")], 0)); // boot media without a cache partition
    }

    [Fact]
    public void A_new_seed_disk_holds_a_spent_seed_that_is_never_credited()
    {
        string root = Circular.Boot.Seed.CachePartition.CreateStaging(_s.Dir);
        string file = Path.Combine(root, RandomSeed.CacheFile);
        Assert.Equal(RandomSeed.SpentArchive(), File.ReadAllBytes(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        // What the kernel would unpack from it: zeros, which the client does not credit.
        string unpacked = _s["unpacked-seed"];
        File.WriteAllBytes(unpacked, new byte[RandomSeed.SeedBytes]);
        Assert.False(RandomSeed.Credit(unpacked));
        RandomSeed.Refresh(root);
        Assert.NotEqual(RandomSeed.SpentArchive(), File.ReadAllBytes(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    /// <summary>CAP_SYS_ADMIN (bit 21) among this process's effective capabilities.</summary>
    private static bool HasCapSysAdmin()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 21)) != 0;
    }

    private static long Inode(string file) => long.Parse(Tools.Run("stat", "-c", "%i", file).Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
