using Circular.Core.Errors;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Guest;

/// <summary>
/// Finds the image's root file system on the attached device (the whole device, or one of its partitions), mounts it
/// read-only and puts a writable layer over it (overlayfs), ready for switch_root.
/// </summary>
public static class RootFileSystem
{
    public const string Lower = "/run/circular/lower", Layer = "/run/circular/layer";

    /// <summary>Mounts the root on <paramref name="newRoot"/>; returns the init to start in it.</summary>
    /// <param name="writableDir">Where the writable layer lives (a directory on the cache partition), or null for tmpfs.</param>
    /// <param name="direct">Mount the root itself read-write (a local disk): no overlay.</param>
    public static async Task<string> MountAsync(string device, BootParameters p, string newRoot, string? writableDir, ILogger log, CancellationToken ct, bool direct = false)
    {
        Directory.CreateDirectory(Lower);
        string? init = null;
        string? chosen = null;
        var tried = new List<string>();
        foreach (string candidate in await CandidatesAsync(device, p.Root, ct).ConfigureAwait(false))
        {
            if (!await MountReadOnlyAsync(candidate, Lower, ct).ConfigureAwait(false))
            {
                tried.Add($"{candidate} (no file system)");
                continue;
            }
            init = FindInit(Lower, p.Init);
            if (init is not null || p.Root != "auto")
            {
                chosen = candidate;
                break;
            }
            tried.Add($"{candidate} (no init)");
            await Programs.RunAsync("umount", Lower).ConfigureAwait(false);
        }
        if (chosen is null)
            throw new CircularException($"no root file system with an init on {device}: tried {string.Join(", ", tried)}; name one with circular.root=N|LABEL=…|UUID=…");
        if (init is null)
            throw new CircularException($"{chosen} holds no {p.Init ?? "/sbin/init or /init"}: give the image's init with init=PATH");
        if (direct)
        {
            await Programs.RunAsync("umount", Lower).ConfigureAwait(false);
            Directory.CreateDirectory(newRoot);
            await MustAsync("mount", ["-o", "rw", chosen, newRoot], ct).ConfigureAwait(false);
            log.LogInformation("root file system: {Device} (read-write), init {Init}", chosen, init);
            return init;
        }
        log.LogInformation("root file system: {Device} (read-only), init {Init}", chosen, init);
        await OverlayAsync(newRoot, writableDir, ct).ConfigureAwait(false);
        HideRootFromFstab(newRoot, log);
        return init;
    }

    /// <summary>Live images keep their root in a squashfs inside the ISO: the Debian live and the Ubuntu casper layouts.</summary>
    public static readonly string[] LiveRoots = ["live/filesystem.squashfs", "casper/filesystem.squashfs", "LiveOS/squashfs.img"];

    /// <summary>
    /// A Live ISO attached as <paramref name="device"/> (HTTPFS): mounts the ISO, then its live root file system (a
    /// squashfs file inside it, through a loop device) read-only under a tmpfs overlay on <paramref name="newRoot"/>.
    /// </summary>
    public static async Task<string> MountLiveAsync(string device, BootParameters p, string newRoot, ILogger log, CancellationToken ct)
    {
        const string iso = "/run/circular/iso";
        Directory.CreateDirectory(iso);
        Directory.CreateDirectory(Lower);
        var m = await Programs.RunAsync("mount", ["-t", "iso9660", "-o", "ro", device, iso], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        if (!m.Ok) throw new CircularException($"the file at circular.url is neither a Circular archive nor an ISO image that can be mounted ({m.Output.Trim()})");
        string? squash = LiveRoots.Select(r => Path.Combine(iso, r)).FirstOrDefault(File.Exists);
        if (squash is null)
            throw new CircularException($"the ISO holds no live root file system (looked for {string.Join(", ", LiveRoots)})");
        var s = await Programs.RunAsync("mount", ["-t", "squashfs", "-o", "ro,loop", squash, Lower], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        if (!s.Ok) throw new CircularException($"{squash[(iso.Length + 1)..]} cannot be mounted: {s.Output.Trim()}");
        string init = FindInit(Lower, p.Init) ?? throw new CircularException($"the live root file system {squash[(iso.Length + 1)..]} holds no {p.Init ?? "/sbin/init or /init"}");
        log.LogInformation("live root file system: {Squashfs} of the ISO (read-only), init {Init}", squash[(iso.Length + 1)..], init);
        await OverlayAsync(newRoot, writableDir: null, ct).ConfigureAwait(false);
        return init;
    }

    /// <summary>The writable layer over <see cref="Lower"/>: a directory on the cache partition, or a tmpfs.</summary>
    private static async Task OverlayAsync(string newRoot, string? writableDir, CancellationToken ct)
    {
        string layer = writableDir ?? Layer;
        if (writableDir is null)
        {
            Directory.CreateDirectory(Layer);
            await MustAsync("mount", ["-t", "tmpfs", "-o", "mode=0755,size=50%", "tmpfs", Layer], ct).ConfigureAwait(false);
        }
        Directory.CreateDirectory(Path.Combine(layer, "upper"));
        Directory.CreateDirectory(Path.Combine(layer, "work"));
        Directory.CreateDirectory(newRoot);
        await MustAsync("mount", ["-t", "overlay", "overlay", "-o", $"lowerdir={Lower},upperdir={layer}/upper,workdir={layer}/work", newRoot], ct).ConfigureAwait(false);
    }

    /// <summary>Where to look for the root: the device's partitions (after the kernel's scan), else the device itself.</summary>
    private static async Task<IReadOnlyList<string>> CandidatesAsync(string device, string root, CancellationToken ct)
    {
        string name = Path.GetFileName(device);
        if (root.StartsWith("LABEL=", StringComparison.Ordinal) || root.StartsWith("UUID=", StringComparison.Ordinal))
        {
            var r = await Programs.RunAsync("findfs", [root], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
            if (!r.Ok) throw new CircularException($"circular.root={root}: no such file system on the attached image");
            return [r.Output.Trim()];
        }
        // Partitions are the device's sysfs subdirectories with a "partition" file (nbd0p1, vda1, sda1), by number.
        var partitions = new List<(int Number, string Device)>();
        // The kernel scans a partition table as the device appears: wait for it only when there is one to scan.
        int tries = HasPartitionTable(device) ? 100 : 1;
        for (int i = 0; i < tries && partitions.Count == 0; i++)
        {
            if (Directory.Exists($"/sys/block/{name}"))
                foreach (string dir in Directory.GetDirectories($"/sys/block/{name}"))
                    if (File.Exists(Path.Combine(dir, "partition")) && int.TryParse(File.ReadAllText(Path.Combine(dir, "partition")).Trim(), out int n))
                        partitions.Add((n, "/dev/" + Path.GetFileName(dir)));
            if (partitions.Count == 0) await Task.Delay(50, ct).ConfigureAwait(false);
        }
        partitions.Sort();
        if (int.TryParse(root, out int number))
            return [partitions.FirstOrDefault(p => p.Number == number).Device ?? throw new CircularException($"circular.root={root}: the image has no partition {number}")];
        return [.. partitions.Select(p => p.Device), device];
    }

    /// <summary>True when the device starts with an MBR holding partitions or with a GPT header.</summary>
    private static bool HasPartitionTable(string device)
    {
        try
        {
            using var f = new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            var b = new byte[1024];
            if (f.ReadAtLeast(b, b.Length, throwOnEndOfStream: false) < b.Length) return false;
            if (b.AsSpan(512, 8).SequenceEqual("EFI PART"u8)) return true;
            if (b[510] != 0x55 || b[511] != 0xaa) return false;
            for (int entry = 0; entry < 4; entry++)
                if (b[446 + entry * 16 + 4] != 0) return true; // a partition type
            return false;
        }
        catch (IOException) { return false; }
    }

    private static async Task<bool> MountReadOnlyAsync(string device, string dir, CancellationToken ct)
    {
        // ext4 first with noload: a journal left unclean by the image's builder must not stop a read-only mount.
        if ((await Programs.RunAsync("mount", ["-t", "ext4", "-o", "ro,noload", device, dir], TimeSpan.FromSeconds(60), ct).ConfigureAwait(false)).Ok) return true;
        return (await Programs.RunAsync("mount", ["-o", "ro", device, dir], TimeSpan.FromSeconds(60), ct).ConfigureAwait(false)).Ok;
    }

    /// <summary>The init to start: the one asked for, else /sbin/init, else /init, followed through symlinks inside the root.</summary>
    private static string? FindInit(string root, string? wanted)
    {
        foreach (string candidate in wanted is null ? ["/sbin/init", "/init"] : new[] { wanted })
            if (ResolveInside(root, candidate) is { } real && File.Exists(real)) return candidate;
        return null;
    }

    /// <summary>A path inside <paramref name="root"/>, symlinks resolved as the booted system will see them.</summary>
    private static string? ResolveInside(string root, string path)
    {
        for (int hops = 0; hops < 16; hops++)
        {
            string full = root + path;
            var info = new FileInfo(full);
            if (info.LinkTarget is not { } target) return info.Exists || Directory.Exists(full) ? full : null;
            path = target.StartsWith('/') ? target : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
        }
        return null;
    }

    /// <summary>
    /// The image's fstab names its root by device or UUID, which here is the read-only lower layer under an overlay: its
    /// remount (and fsck) at boot would fail. The writable layer gets an fstab whose root line is commented out.
    /// </summary>
    private static void HideRootFromFstab(string newRoot, ILogger log)
    {
        string fstab = Path.Combine(newRoot, "etc", "fstab");
        if (!File.Exists(fstab)) return;
        var lines = File.ReadAllLines(fstab);
        bool changed = false;
        for (int i = 0; i < lines.Length; i++)
        {
            var f = lines[i].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 2 && !f[0].StartsWith('#') && f[1] == "/")
            {
                lines[i] = "# root is served by Circular (overlay over the archive's image): " + lines[i];
                changed = true;
            }
        }
        if (!changed) return;
        File.WriteAllLines(fstab, lines);
        log.LogDebug("commented the root entry out of {Fstab}", fstab);
    }

    private static async Task MustAsync(string program, string[] args, CancellationToken ct)
    {
        var r = await Programs.RunAsync(program, args, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (!r.Ok) throw new CircularException($"{program} {string.Join(' ', args)} failed: {r.Output}");
    }
}
