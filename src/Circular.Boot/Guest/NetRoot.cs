using Circular.Client;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Nbd;
using Circular.Nbd.Kernel;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Guest;

/// <summary>Where `circular netroot` finds its inputs and leaves its results (the defaults are the initramfs's paths).</summary>
public sealed record NetRootOptions
{
    public string NewRoot { get; init; } = "/newroot";
    /// <summary>Where "ready" (with "init", the program to start) or "failed" (one line) are written for /init.</summary>
    public string StatusDir { get; init; } = "/run/circular";
    public string CommandLine { get; init; } = "/proc/cmdline";
    public string KeysDir { get; init; } = "/etc/circular/keys";
    public string ModulesList { get; init; } = "/etc/circular/modules";
    public string Device { get; init; } = "/dev/nbd0";
}

/// <summary>
/// The work of the Circular initramfs (InetBoot): reads the kernel command line, loads drivers, brings the network up,
/// opens the archive (verified, mirrors, trust, prefetch, RAM-bounded cache), attaches the chosen version as
/// /dev/nbd0, mounts its root with a writable layer, tells /init to switch_root, and then serves the root until the
/// machine stops. Reads wait through network outages up to circular.timeout, then fail with EIO and a console message.
/// </summary>
public static class NetRoot
{
    public static async Task<int> RunAsync(NetRootOptions o, ILogger log, CancellationToken ct)
    {
        Directory.CreateDirectory(o.StatusDir);
        KernelNbdDevice? device = null;
        try
        {
            var p = BootParameters.Parse(await File.ReadAllTextAsync(o.CommandLine, ct).ConfigureAwait(false));
            if (p.Disk is { } disk) return await LocalDiskAsync(o, p, disk, log, ct).ConfigureAwait(false);
            if (p.Urls.Count == 0) throw new UsageException("the kernel command line names no archive: add circular.url=URL");
            var spec = p.Image ?? throw new UsageException("the kernel command line names no image: add circular.image=NAME[@VERSION]");
            log.LogInformation("booting {Image} from {Url}", spec, p.Urls[0]);

            await LoadModulesAsync(o.ModulesList, log, ct).ConfigureAwait(false);
            var local = await LocalCache.OpenAsync(p, log, ct).ConfigureAwait(false);
            if (p.Overlay == "cache" && local is null) throw new UsageException("circular.overlay=cache: this machine has no cache partition (circular.cache)");
            bool online = true;
            try
            {
                string lease = await GuestNetwork.UpAsync(p, log, ct).ConfigureAwait(false);
                log.LogInformation("network: {Lease}", lease);
            }
            catch (CircularException e) when (local is not null)
            {
                // With a cache partition the machine boots offline from what earlier boots (or --fill) stored there.
                online = false;
                log.LogWarning("no network ({Reason}): booting from the cache on {Device}", e.Message, local.Device);
            }

            var options = new ArchiveClientOptions {
                Location = p.Urls[0],
                Mirrors = p.Urls.Skip(1).ToList(),
                // Offline, a read the cache cannot answer fails at once with a message instead of waiting for a network
                // that is not there.
                Patience = online ? TimeSpan.FromSeconds(p.TimeoutSeconds) : TimeSpan.Zero,
                Retries = online ? 2 : 0,
                Timeout = online ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(2),
                MemoryCacheBytes = p.MemoryCache(TotalMemory()),
                CacheDirectory = local?.CacheDir,
                CacheQuota = local?.Quota ?? Storage.Cache.DiskCache.DefaultQuota,
                Trust = new TrustOptions { KeyFiles = TrustedKeys(p, o.KeysDir), StateDirectory = local?.TrustDir ?? Path.Combine(o.StatusDir, "trust") },
                Log = log,
            };
            var client = await ArchiveClient.OpenAsync(options, ct).ConfigureAwait(false);
            var version = await client.OpenVersionAsync(spec, ct).ConfigureAwait(false);
            var image = await client.Catalog.OpenAsync(version.Name, writable: false, ct).ConfigureAwait(false);
            device = await KernelNbdDevice.AttachAsync(o.Device, version.Name, image, new NbdServerOptions { Log = log }, ct).ConfigureAwait(false);
            Tune(o.Device);
            log.LogInformation("{Version} ({Size}) attached as {Device}", version.Name, ByteSize.Format(version.Manifest.ImageSize), o.Device);

            string? layer = local is not null && p.Overlay != "tmpfs" ? local.LayerDir(version.Name) : null;
            string init = await RootFileSystem.MountAsync(o.Device, p, o.NewRoot, layer, log, ct).ConfigureAwait(false);
            if (layer is not null) log.LogInformation("writable layer: {Layer} on {Device} (kept across reboots of {Version})", layer, local!.Device, version.Name);
            local?.RecordBoot(new Seed.SeedState {
                Booted = DateTimeOffset.UtcNow,
                Version = version.Name,
                Online = online,
                CacheBytes = client.Cache?.Total ?? 0,
                CacheQuota = options.CacheQuota,
            });
            await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "init"), init + "\n", ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "ready"), version.Name + "\n", ct).ConfigureAwait(false);

            // From here on this process is the root file system's server: it outlives the initramfs and runs until
            // power-off (systemd spares it: argv[0] is "@circular").
            log.LogInformation("serving the root file system as process {Pid} ({Name})", Environment.ProcessId, ProcessName());
            await device.Ended.ConfigureAwait(false);
            log.LogWarning("{Device} was disconnected", o.Device);
            return 0;
        }
        catch (Exception e) when (e is CircularException or IOException or UnauthorizedAccessException)
        {
            await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "failed"), e.Message.ReplaceLineEndings(" ") + "\n", CancellationToken.None).ConfigureAwait(false);
            if (device is not null) await device.DisposeAsync().ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>circular.disk=: the root is a local disk (given by `circular boot`): drivers, then mount it and hand over.</summary>
    private static async Task<int> LocalDiskAsync(NetRootOptions o, BootParameters p, string disk, ILogger log, CancellationToken ct)
    {
        await LoadModulesAsync(o.ModulesList, log, ct).ConfigureAwait(false);
        for (int i = 0; i < 100 && !File.Exists(disk); i++) await Task.Delay(100, ct).ConfigureAwait(false);
        if (!File.Exists(disk)) throw new CircularException($"circular.disk={disk}: no such device (the drivers in this initramfs found no such disk)");
        string init = await RootFileSystem.MountAsync(disk, p, o.NewRoot, writableDir: null, log, ct, direct: true).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "init"), init + "\n", ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "ready"), disk + "\n", ct).ConfigureAwait(false);
        return 0;
    }

    /// <summary>argv[0] as the kernel shows it (/proc/self/cmdline): what systemd reads to decide whom to spare.</summary>
    private static string ProcessName()
    {
        try { return File.ReadAllText("/proc/self/cmdline").Split('\0')[0]; }
        catch (IOException) { return "?"; }
    }

    private static async Task LoadModulesAsync(string list, ILogger log, CancellationToken ct)
    {
        if (!File.Exists(list)) return;
        foreach (string module in await File.ReadAllLinesAsync(list, ct).ConfigureAwait(false))
        {
            if (string.IsNullOrWhiteSpace(module)) continue;
            // Partitions of the attached image show as /dev/nbd0p1…; a few devices are enough.
            string[] args = module == "nbd" ? ["nbd", "nbds_max=4", "max_part=16"] : [module];
            var r = await Programs.RunAsync("modprobe", args, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            if (!r.Ok) log.LogDebug("modprobe {Module}: {Output}", module, r.Output);
        }
    }

    /// <summary>The key files of circular.trust's ids; without it, every key this initramfs carries (none: trust on first use).</summary>
    private static IReadOnlyList<string> TrustedKeys(BootParameters p, string dir)
    {
        if (p.TrustKeyIds.Count == 0)
            return Directory.Exists(dir) ? Directory.GetFiles(dir, "*.pub").Order(StringComparer.Ordinal).ToList() : [];
        return p.TrustKeyIds.Select(id =>
        {
            string file = Path.Combine(dir, id + ".pub");
            return File.Exists(file) ? file
                : throw new TrustException($"circular.trust={id}: this initramfs carries no such key (build it with 'circular initramfs --trust KEY.pub')");
        }).ToList();
    }

    /// <summary>Bigger requests from the kernel: fewer, larger reads of whole chunks instead of 128 KiB pieces.</summary>
    private static void Tune(string device)
    {
        string queue = $"/sys/block/{Path.GetFileName(device)}/queue";
        foreach (var (file, value) in new[] { ("max_sectors_kb", "1024"), ("read_ahead_kb", "1024") })
        {
            try { File.WriteAllText(Path.Combine(queue, file), value); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    private static long TotalMemory()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 256L << 20;
    }
}
