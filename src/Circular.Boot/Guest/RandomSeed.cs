using System.Security.Cryptography;
using Circular.Boot.Initramfs;

namespace Circular.Boot.Guest;

/// <summary>
/// The seed disk's random seed, as systemd-boot keeps one on the ESP: 512 random bytes in the cache partition
/// (<see cref="CacheFile"/>, a one-file cpio archive) that GRUB loads before the initramfs, so the kernel unpacks them
/// to <see cref="InitramfsPath"/>. The client credits them to the kernel's random pool before anything in the process
/// reads randomness, and writes fresh ones for the next boot once the cache partition is mounted.
/// Why: the .NET runtime reads /dev/urandom on its first string hash, and a Linux kernel (5.18+) whose pool is not
/// yet initialised then spins on timer jitter until it is: about 1 s of CPU on a machine without RDRAND (QEMU's
/// default CPU under TCG), paid in every boot's critical path. A machine with RDRAND is initialised at once anyway.
/// Only seeds a booted machine wrote (from its own initialised pool) are credited: `circular seed` writes a spent one
/// (zeros) so that the file exists from the start, since a disk image may be copied to many machines or published,
/// and crediting a seed others know would count known bytes as entropy. Its first boot pays the jitter.
/// </summary>
public static class RandomSeed
{
    /// <summary>Where the kernel unpacks the seed GRUB loaded (the initramfs's root, emptied by switch_root).</summary>
    public const string InitramfsPath = "/random-seed";
    /// <summary>The seed's archive in the cache partition's root, rewritten in place each boot (same size).</summary>
    public const string CacheFile = "random-seed.cpio";
    public const int SeedBytes = 512;
    /// <summary>What a seed is credited with: enough for the kernel's pool to count as initialised.</summary>
    private const int CreditBits = 256;
    // RNDADDENTROPY = _IOW('R', 0x03, int[2]) (include/uapi/linux/random.h).
    private const nuint RndAddEntropy = 0x40085203;

    /// <summary>The archive GRUB loads: <see cref="InitramfsPath"/> holding <paramref name="seed"/>.</summary>
    public static byte[] Archive(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedBytes) throw new ArgumentException($"a random seed is {SeedBytes} bytes", nameof(seed));
        var cpio = new CpioArchive();
        cpio.AddFile(InitramfsPath, seed, 0x180 /* 0600 */);
        return cpio.ToArray();
    }

    /// <summary>A new archive of fresh random bytes.</summary>
    public static byte[] NewArchive() => Archive(RandomNumberGenerator.GetBytes(SeedBytes));

    /// <summary>An archive whose seed is spent (zeros): never credited; the first boot replaces it in place.</summary>
    public static byte[] SpentArchive() => Archive(new byte[SeedBytes]);

    /// <summary>
    /// Credits the seed at <paramref name="path"/> to the kernel and deletes it, so it is used once. False when there
    /// is none, it is not a whole seed (all zeros: spent), or the kernel refused it (not root, no /dev/urandom).
    /// Must run before anything in the process reads randomness; nothing here does.
    /// </summary>
    public static bool Credit(string path = InitramfsPath)
    {
        byte[] seed;
        try
        {
            if (!File.Exists(path)) return false;
            seed = File.ReadAllBytes(path);
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        if (seed.Length != SeedBytes || !seed.AsSpan().ContainsAnyExcept((byte)0)) return false;
        // struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
        var info = new byte[8 + seed.Length];
        BitConverter.TryWriteBytes(info.AsSpan(0, 4), CreditBits);
        BitConverter.TryWriteBytes(info.AsSpan(4, 4), seed.Length);
        seed.CopyTo(info, 8);
        int fd = GuestLibc.Open("/dev/urandom", GuestLibc.OpenWriteOnly | GuestLibc.OpenCloseOnExec);
        if (fd < 0) return false;
        try { return GuestLibc.Ioctl(fd, RndAddEntropy, info) == 0; }
        finally
        {
            GuestLibc.Close(fd);
            CryptographicOperations.ZeroMemory(info);
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>
    /// Writes a fresh seed for the next boot into the cache partition mounted at <paramref name="root"/>: over the
    /// old one's bytes in place, which GRUB (reading the file system without replaying its journal) sees at once.
    /// </summary>
    public static void Refresh(string root)
    {
        byte[] archive = NewArchive();
        string path = Path.Combine(root, CacheFile);
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        file.Write(archive);
        file.SetLength(archive.Length);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Deletes the seed the next boot would credit (a seed used twice is worse than none).</summary>
    public static void Discard(string root)
    {
        try { File.Delete(Path.Combine(root, CacheFile)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
