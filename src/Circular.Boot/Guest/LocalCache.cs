using Circular.Boot.Seed;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Guest;

/// <summary>
/// The booting machine's own cache partition (a seed disk's CIRCULAR-CACHE, docs/vmseed.md): mounted read-write in
/// the initramfs, it holds the persistent chunk cache, the trust state and each version's writable layer, so a
/// second boot reads what the first fetched from the disk itself, offline too.
/// </summary>
public sealed class LocalCache
{
    public const string MountPoint = "/run/circular/disk";
    /// <summary>What the writable layers keep free beside the chunk cache: a quarter of the partition, at least 256 MiB.</summary>
    private const long MinimumLayerRoom = 256L << 20;

    private LocalCache(string device, string root, long capacity)
    {
        Device = device;
        Root = root;
        Capacity = capacity;
    }

    public string Device { get; }
    public string Root { get; }
    public long Capacity { get; }
    public string CacheDir => Path.Combine(Root, CachePartition.CacheDir);
    public string TrustDir => Path.Combine(Root, CachePartition.TrustDir);
    /// <summary>The chunk cache's quota: the partition less room for the writable layers (LRU keeps it there).</summary>
    public long Quota => Math.Max(64L << 20, Capacity - Math.Max(Capacity / 4, MinimumLayerRoom));

    /// <summary>One version's writable layer (NAME@N): booting another version starts from that version's own layer.</summary>
    public string LayerDir(string version) => Path.Combine(Root, CachePartition.LayersDir, version);

    /// <summary>
    /// Finds and mounts the partition circular.cache names (auto: one labelled CIRCULAR-CACHE, if the machine has
    /// one); null when there is none or it cannot be used, which is said on the console (the boot goes on without it).
    /// </summary>
    public static async Task<LocalCache?> OpenAsync(BootParameters p, ILogger log, CancellationToken ct, string mountPoint = MountPoint)
    {
        if (p.Cache == "none") return null;
        bool named = p.Cache != "auto";
        string what = named ? p.Cache : "LABEL=" + CachePartition.Label;
        // Disk drivers find their disks a little after they load; a named cache is worth waiting for.
        // Unnamed, it is only looked for on a machine with a disk: a diskless one (most network boots) must not wait.
        string? device = !named && !HasDisk() ? null
            : await FindAsync(what, named ? TimeSpan.FromSeconds(15) : TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        if (device is null)
        {
            if (named) log.LogWarning("circular.cache={Cache}: no such disk or partition; booting without a local cache", p.Cache);
            return null;
        }
        Directory.CreateDirectory(mountPoint);
        var m = await Programs.RunAsync("mount", ["-t", "ext4", "-o", "rw,noatime", device, mountPoint], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        if (!m.Ok)
        {
            log.LogWarning("the cache partition {Device} cannot be mounted ({Reason}); booting without it", device, m.Output.Trim());
            return null;
        }
        string marker = Path.Combine(mountPoint, CachePartition.MarkerFile);
        int layout = File.Exists(marker) ? Format(marker) : CachePartition.Format;
        if (layout > CachePartition.Format)
        {
            log.LogWarning("the cache partition {Device} has layout {Format}, newer than this initramfs knows; booting without it", device, layout);
            await Programs.RunAsync("umount", mountPoint).ConfigureAwait(false);
            return null;
        }
        foreach (string dir in new[] { CachePartition.CacheDir, CachePartition.TrustDir, CachePartition.LayersDir })
            Directory.CreateDirectory(Path.Combine(mountPoint, dir));
        if (!File.Exists(marker)) await File.WriteAllTextAsync(marker, $"{{\"format\": {CachePartition.Format}}}\n", ct).ConfigureAwait(false);
        var drive = new DriveInfo(mountPoint);
        var cache = new LocalCache(device, mountPoint, drive.TotalSize);
        log.LogInformation("local cache: {Device} ({Free} free of {Size})", device, ByteSize.Format(drive.AvailableFreeSpace), ByteSize.Format(drive.TotalSize));
        return cache;
    }

    /// <summary>Records this boot for `circular seed --info`; a failure to write it costs nothing but the record.</summary>
    public void RecordBoot(SeedState state)
    {
        try { Storage.Posix.AtomicFile.Write(Path.Combine(Root, CachePartition.StateFile), state.ToJson(), durable: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static int Format(string marker)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(marker));
            return doc.RootElement.TryGetProperty("format", out var f) && f.TryGetInt32(out int v) ? v : 0;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { return 0; }
    }

    /// <summary>Whether <see cref="OpenAsync"/> may find a cache partition: one is named, or the machine has a disk.</summary>
    public static bool MayExist(BootParameters p) => p.Cache != "none" && (p.Cache != "auto" || HasDisk());

    /// <summary>Whether the machine has a disk that could hold a cache partition (not a loop, RAM, NBD or CD device).</summary>
    private static bool HasDisk()
    {
        try
        {
            return Directory.EnumerateDirectories("/sys/class/block").Select(Path.GetFileName)
                .Any(n => n is not null && !(n.StartsWith("loop", StringComparison.Ordinal) || n.StartsWith("ram", StringComparison.Ordinal) ||
                    n.StartsWith("nbd", StringComparison.Ordinal) || n.StartsWith("zram", StringComparison.Ordinal) ||
                    n.StartsWith("sr", StringComparison.Ordinal) || n.StartsWith("fd", StringComparison.Ordinal)));
        }
        catch (IOException) { return true; }
    }

    private static async Task<string?> FindAsync(string what, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            if (what.StartsWith("/dev/", StringComparison.Ordinal))
            {
                if (File.Exists(what)) return what;
            }
            else
            {
                var r = await Programs.RunAsync("findfs", [what], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
                if (r.Ok && r.Output.Trim() is { Length: > 0 } dev && dev.StartsWith("/dev/", StringComparison.Ordinal)) return dev;
            }
            if (DateTime.UtcNow >= deadline) return null;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }
}
