using Circular.Boot.Initramfs;

namespace Circular.Boot.Kexec;

/// <summary>
/// The Circular initramfs a booted medium is running, packed again (uncompressed newc cpio) from its root file
/// system, so the double-deck boot hands the very same client to the kernel it kexecs into.
/// </summary>
public static class RunningInitramfs
{
    /// <summary>True when this process runs inside the Circular initramfs (its /init and module list are there).</summary>
    public static bool IsRunning(string root = "/") =>
        File.Exists(Path.Combine(root, "init")) && File.Exists(Path.Combine(root, "etc", "circular", "modules")) && File.Exists(Path.Combine(root, "bin", "circular"));

    /// <summary>Mount points and scratch space that are not part of the initramfs.</summary>
    private static readonly string[] Skipped = ["proc", "sys", "dev", "run", "newroot", "kexec", "tmp"];

    /// <summary>
    /// Where Linux shows the initramfs it booted with, when its command line has retain_initrd (kernels newer than
    /// Debian 12's 6.1, which has no such file: there the medium's copy is used, <see cref="BootMediumInitramfs"/>).
    /// </summary>
    public const string RetainedPath = "/sys/firmware/initrd";

    /// <summary>
    /// The initramfs to hand to the next kernel, saved in <paramref name="dir"/>: the compressed image this kernel booted
    /// with when it kept it (retain_initrd, which the universal medium's command line has), else <paramref name="root"/>
    /// packed again. The kept image is a third of the packed one's size (zstd): kexec_file_load hashes every byte it loads,
    /// and so does the purgatory before the next kernel starts, both with plain C SHA-256 on a CPU without SSSE3.
    /// </summary>
    public static string SaveTo(string root, string dir, string retained = RetainedPath)
    {
        Directory.CreateDirectory(dir);
        try
        {
            if (File.Exists(retained) && new FileInfo(retained).Length > 0)
            {
                string copy = Path.Combine(dir, "circular.img");
                using (var input = new FileStream(retained, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                using (var output = File.Create(copy))
                    input.CopyTo(output, 1 << 20);
                return copy;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return WriteTo(root, dir);
    }

    /// <summary>Packs <paramref name="root"/> into DIR/circular.cpio; returns that path.</summary>
    public static string WriteTo(string root, string dir)
    {
        Directory.CreateDirectory(dir);
        string output = Path.Combine(dir, "circular.cpio");
        Write(root, output);
        return output;
    }

    public static void Write(string root, string output)
    {
        var cpio = new CpioArchive();
        cpio.AddDirectory("dev");
        cpio.AddCharDevice("dev/console", 5, 1);
        Add(cpio, root, "");
        // Uncompressed: zstd at the builder's level 19 took about a minute of an emulated CPU (measured: the universal
        // ISO's boot went from 66 s to 142 s); a fast level may still pay, to be measured.
        File.WriteAllBytes(output, cpio.ToArray());
    }

    private static void Add(CpioArchive cpio, string root, string relative)
    {
        foreach (var entry in new DirectoryInfo(Path.Combine(root, relative)).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            string path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
            if (relative.Length == 0 && Skipped.Contains(entry.Name, StringComparer.Ordinal))
            {
                if (entry is DirectoryInfo && !cpio.Contains(path)) cpio.AddDirectory(path);
                continue;
            }
            if (entry.LinkTarget is { } target) cpio.AddSymlink(path, target);
            else if (entry is DirectoryInfo) { cpio.AddDirectory(path, (uint)entry.UnixFileMode); Add(cpio, root, path); }
            else if (entry is FileInfo) cpio.AddFile(path, File.ReadAllBytes(entry.FullName), (uint)entry.UnixFileMode);
        }
    }
}
