using System.Text;
using Circular.Boot.Guest;
using Circular.Core.Errors;

namespace Circular.Boot.Media;

/// <summary>One entry of a boot menu: a title and the kernel command line it boots with.</summary>
public sealed record BootEntry(string Title, string CommandLine);

/// <summary>
/// A small hybrid boot ISO (the seed's InetBoot CD): GRUB for BIOS and UEFI from Debian's packages, a kernel, the
/// Circular initramfs and a menu whose entries name the archive and image. It boots from a CD and, written to a USB
/// stick (or attached as a disk), from that too.
/// </summary>
public static class BootIso
{
    /// <summary>GRUB modules installed on the medium: what a menu that boots Linux from the ISO itself needs, no more.</summary>
    private const string Modules = "linux linux16 normal iso9660 part_msdos part_gpt part_apple part_acorn part_amiga part_bsd part_dfly part_dvh " +
        "part_plan part_sun part_sunpc serial terminal echo test search configfile";

    /// <summary>Where the medium holds its initramfs (named on the universal medium's command line: circular.initrd=).</summary>
    public const string InitramfsPath = "/boot/initramfs";

    public static async Task WriteAsync(string iso, string kernel, string initramfs, IReadOnlyList<BootEntry> entries, CancellationToken ct, int timeoutSeconds = 3)
    {
        foreach (var (tool, package) in new[] { ("grub-mkrescue", "grub-common"), ("xorriso", "xorriso"), ("mformat", "mtools") })
            if (!Programs.OnPath(tool)) throw new NotFoundException($"{tool} is needed to write an ISO: apt-get install grub-pc-bin grub-efi-amd64-bin {package} xorriso mtools");
        foreach (string dir in new[] { "/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi" })
            if (!Directory.Exists(dir)) throw new NotFoundException($"{dir} is missing (GRUB for {(dir.EndsWith("pc", StringComparison.Ordinal) ? "BIOS" : "UEFI")}): apt-get install grub-pc-bin grub-efi-amd64-bin");

        string tree = Directory.CreateTempSubdirectory("circular-iso-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(tree, "boot", "grub"));
            File.Copy(kernel, Path.Combine(tree, "boot", "vmlinuz"));
            File.Copy(initramfs, Path.Combine(tree, "boot", "initramfs"));
            await File.WriteAllTextAsync(Path.Combine(tree, "boot", "grub", "grub.cfg"), GrubConfig(entries, timeoutSeconds), ct).ConfigureAwait(false);
            string tmp = iso + $".partial-{Environment.ProcessId}";
            var r = await Programs.RunAsync("grub-mkrescue", ["-o", tmp, "--locales=", "--fonts=", "--themes=", "--install-modules=" + Modules, tree],
                TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
            if (!r.Ok || !File.Exists(tmp))
            {
                File.Delete(tmp);
                throw new CircularException($"grub-mkrescue failed: {r.Output.Split('\n').LastOrDefault(l => l.Length > 0)}");
            }
            File.Move(tmp, iso, overwrite: true);
        }
        finally
        {
            Directory.Delete(tree, recursive: true);
        }
    }

    /// <summary>
    /// A menu on the serial console and the screen alike; the first entry boots after the timeout. With
    /// <paramref name="seedCache"/> (a seed disk's cache partition, by file system UUID) each entry loads that
    /// partition's random seed archive before the initramfs when it is there (<see cref="Guest.RandomSeed"/>).
    /// </summary>
    public static string GrubConfig(IReadOnlyList<BootEntry> entries, int timeoutSeconds, string kernel = "/boot/vmlinuz", string initrd = InitramfsPath,
        Guid? seedCache = null)
    {
        var cfg = new StringBuilder();
        cfg.AppendLine("serial --unit=0 --speed=115200");
        cfg.AppendLine("terminal_input serial console");
        cfg.AppendLine("terminal_output serial console");
        cfg.AppendLine($"set timeout={timeoutSeconds}");
        cfg.AppendLine("set default=0");
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            string title = e.Title.Replace("\"", "'", StringComparison.Ordinal);
            // With several entries the first nine answer a digit key at once (shown in the title).
            string hotkey = entries.Count > 1 && i < 9 ? $" --hotkey={i + 1}" : "";
            if (hotkey.Length > 0) title = $"[{i + 1}] {title}";
            cfg.AppendLine($"menuentry \"{title}\"{hotkey} {{");
            // BIOS: the 16-bit boot protocol (the kernel's own real-mode setup, as QEMU's -kernel and syslinux use). The
            // 32-bit entry GRUB's `linux` takes on BIOS made the kernel's decompressor 5 s slower under QEMU TCG
            // (8.7 s from GRUB to start_kernel instead of 3.7 s; docs/benchmarks.md, session 16). UEFI keeps `linux`.
            if (seedCache is { } uuid)
            {
                cfg.AppendLine("    set circular_seed=");
                cfg.AppendLine($"    if search --no-floppy --fs-uuid --set=circular_cache {uuid:D}; then");
                cfg.AppendLine($"        if [ -f ($circular_cache)/{RandomSeed.CacheFile} ]; then set circular_seed=($circular_cache)/{RandomSeed.CacheFile}; fi");
                cfg.AppendLine("    fi");
            }
            cfg.AppendLine("    if [ \"$grub_platform\" = pc ]; then");
            cfg.AppendLine($"        linux16 {kernel} {e.CommandLine}");
            AppendInitrd(cfg, "initrd16", initrd, seedCache is not null);
            cfg.AppendLine("    else");
            cfg.AppendLine($"        linux {kernel} {e.CommandLine}");
            AppendInitrd(cfg, "initrd", initrd, seedCache is not null);
            cfg.AppendLine("    fi");
            cfg.AppendLine("}");
        }
        return cfg.ToString();
    }

    /// <summary>The seed's archive goes first: the kernel unpacks an uncompressed cpio followed by a compressed one.</summary>
    private static void AppendInitrd(StringBuilder cfg, string command, string initrd, bool seed)
    {
        if (seed) cfg.AppendLine($"        if [ -n \"$circular_seed\" ]; then {command} $circular_seed {initrd}; else {command} {initrd}; fi");
        else cfg.AppendLine($"        {command} {initrd}");
    }
}
