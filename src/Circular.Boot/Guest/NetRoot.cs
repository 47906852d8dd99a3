using Circular.Boot.Kexec;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Nbd;
using Circular.Nbd.Kernel;
using Circular.Storage.Archive;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Guest;

/// <summary>Where `circular netroot` finds its inputs and leaves its results (the defaults are the initramfs's paths).</summary>
public sealed record NetRootOptions
{
    public string NewRoot { get; init; } = "/newroot";
    /// <summary>Where "ready" (with "init", the program to start) or "failed" (one line) are written for /init.</summary>
    public string StatusDir { get; init; } = "/run/circular";
    /// <summary>The pipe /init waits on (<see cref="InitNotifier"/>), when it gave one.</summary>
    public int? NotifyFd { get; init; }
    /// <summary>Whether the seed disk's random seed was credited to the kernel at the process's start (<see cref="RandomSeed"/>).</summary>
    public bool SeedCredited { get; init; }
    public string CommandLine { get; init; } = "/proc/cmdline";
    public string KeysDir { get; init; } = "/etc/circular/keys";
    public string ModulesList { get; init; } = "/etc/circular/modules";
    /// <summary>Which of those the boot needs only once the archive is open (<see cref="Initramfs.InitramfsOptions.LateModules"/>).</summary>
    public string LateModulesList { get; init; } = "/etc/circular/modules-late";
    /// <summary>Device drivers the initramfs carries, loaded by the modalias of the devices present.</summary>
    public string DriversList { get; init; } = "/etc/circular/drivers";
    public string Device { get; init; } = "/dev/nbd0";
    /// <summary>The initramfs's own root, packed again for the kernel a double-deck boot kexecs into.</summary>
    public string InitramfsRoot { get; init; } = "/";
    /// <summary>Where that kernel, its initrd and the packed initramfs are put (in the initramfs's RAM file system).</summary>
    public string KexecDir { get; init; } = "/kexec";
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
        var notifier = o.NotifyFd is { } fd ? new InitNotifier(fd) : null;
        KernelNbdDevice? device = null;
        try
        {
            var p = BootParameters.Parse(await File.ReadAllTextAsync(o.CommandLine, ct).ConfigureAwait(false));
            if (p.Disk is { } disk) return await LocalDiskAsync(o, p, disk, notifier, log, ct).ConfigureAwait(false);
            if (p.Urls.Count == 0) throw new UsageException("the kernel command line names no archive: add circular.url=URL");
            log.LogInformation("booting {Image} from {Url}", p.Image?.ToString() ?? "(menu)", p.Urls[0]);
            if (o.SeedCredited) log.LogDebug("random seed from the cache partition credited to the kernel");

            var lateModules = await LoadModulesAsync(o, log, ct).ConfigureAwait(false);
            // The network comes up while the cache partition is found and mounted. The drivers were loaded (and probed
            // their cards) above; a machine that may have a local cache need not wait long for a card.
            bool shortWait = LocalCache.MayExist(p);
            var network = GuestNetwork.UpAsync(p, log, ct, shortWait ? CardWaitWithCache : null);
            var local = await LocalCache.OpenAsync(p, log, ct).ConfigureAwait(false);
            var cacheOpened = System.Diagnostics.Stopwatch.StartNew();
            if (local is not null) RefreshSeed(local, log);
            if (p.Overlay == "cache" && local is null) throw new UsageException("circular.overlay=cache: this machine has no cache partition (circular.cache)");
            bool online = true;
            try
            {
                string lease;
                try { lease = await network.ConfigureAwait(false); }
                catch (NoNetworkCardException) when (local is null && shortWait)
                {
                    // No cache partition after all: without one the boot needs the network, so wait for a card as long
                    // as a machine without a disk does.
                    lease = await GuestNetwork.UpAsync(p, log, ct).ConfigureAwait(false);
                }
                catch (NoNetworkCardException) when (local is not null && NetworkHardware.Present() && cacheOpened.Elapsed < CardWaitWithCache)
                {
                    // The short wait ran alongside the mount: a card still gets all of it, counted from the cache's arrival.
                    lease = await GuestNetwork.UpAsync(p, log, ct, CardWaitWithCache - cacheOpened.Elapsed).ConfigureAwait(false);
                }
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
                FirstImage = p.Menu ? null : p.Image?.Name,
                Log = log,
            };
            // An archive, or (HTTPFS) a plain Live ISO on any web server, read with range requests.
            var source = await ImageSource.OpenAsync(options, ct).ConfigureAwait(false);
            string name, init;
            if (source.Client is not { } client)
            {
                name = (await source.Catalog.ListAsync(ct).ConfigureAwait(false)).Single().Name;
                var iso = await source.Catalog.OpenAsync(name, writable: false, ct).ConfigureAwait(false);
                await lateModules.ConfigureAwait(false);
                device = await AttachAsync(o, p, name, iso, log, ct).ConfigureAwait(false);
                log.LogInformation("{Url} is not an archive: reading it as a Live ISO ({Size}) over HTTP ranges, attached as {Device}", p.Urls[0], ByteSize.Format(iso.Size), o.Device);
                init = await RootFileSystem.MountLiveAsync(o.Device, p, o.NewRoot, log, ct).ConfigureAwait(false);
            }
            else
            {
                if (p.Image is null || p.Menu)
                {
                    // The universal medium: a menu from the archive, then the chosen version's own kernel (this returns only on failure).
                    await lateModules.ConfigureAwait(false);
                    await DoubleDeckAsync(o, p, client, log, ct).ConfigureAwait(false);
                }
                var version = await client.OpenVersionAsync(p.Image!.Value, ct).ConfigureAwait(false);
                name = version.Name;
                var image = await client.Catalog.OpenAsync(version.Name, writable: false, ct).ConfigureAwait(false);
                await lateModules.ConfigureAwait(false);
                device = await AttachAsync(o, p, version.Name, image, log, ct).ConfigureAwait(false);
                log.LogInformation("{Version} ({Size}) attached as {Device}", version.Name, ByteSize.Format(version.Manifest.ImageSize), o.Device);

                string? layer = local is not null && p.Overlay != "tmpfs" ? local.LayerDir(version.Name) : null;
                init = await RootFileSystem.MountAsync(o.Device, p, o.NewRoot, layer, log, ct).ConfigureAwait(false);
                if (layer is not null) log.LogInformation("writable layer: {Layer} on {Device} (kept across reboots of {Version})", layer, local!.Device, version.Name);
                local?.RecordBoot(new Seed.SeedState {
                    Booted = DateTimeOffset.UtcNow,
                    Version = version.Name,
                    Online = online,
                    CacheBytes = client.Cache?.Total ?? 0,
                    CacheQuota = options.CacheQuota,
                });
            }
            await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "init"), init + "\n", ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "ready"), name + "\n", ct).ConfigureAwait(false);
            notifier?.Signal("ready");

            // From here on this process is the root file system's server: it outlives the initramfs and runs until
            // power-off (systemd spares it: argv[0] is "@circular").
            log.LogInformation("serving the root file system as process {Pid} ({Name})", Environment.ProcessId, ProcessName());
            if (log.IsEnabled(LogLevel.Debug)) _ = LogCpuAsync(log, device.Ended);
            await device.Ended.ConfigureAwait(false);
            log.LogWarning("{Device} was disconnected", o.Device);
            return 0;
        }
        catch (Exception e) when (e is CircularException or IOException or UnauthorizedAccessException)
        {
            await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "failed"), e.Message.ReplaceLineEndings(" ") + "\n", CancellationToken.None).ConfigureAwait(false);
            notifier?.Signal("failed");
            if (device is not null) await device.DisposeAsync().ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// The double-deck boot: shows the archive's menu on the console, fetches the chosen version's kernel and kexecs
    /// into it with this very initramfs and a command line naming the version. While the menu waits for a key, the
    /// default is made ready (its manifest and kernel fetched, the initramfs saved), so the wait costs no time of its
    /// own when the default is taken; another choice cancels that work and fetches its own kernel.
    /// </summary>
    private static async Task DoubleDeckAsync(NetRootOptions o, BootParameters p, ArchiveClient client, ILogger log, CancellationToken ct)
    {
        string work = o.KexecDir;
        Directory.CreateDirectory(work);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Task<string>? initramfs = null;
        (ImageSpec Spec, CancellationTokenSource Stop, Task<(ResolvedVersion Version, string Kernel)> Work)? early = null;
        ImageSpec spec;
        try
        {
            using (var console = OpenConsole())
                spec = await BootMenu.ChooseAsync(client.Reader, p.Image, p.MenuTimeoutSeconds, console ?? TextReader.Null, Console.Out, ct, fallback =>
                {
                    // The initramfs does not depend on the choice; the kernel is the default's.
                    initramfs ??= Task.Run(() => SaveInitramfsAsync(o, p, work, log, ct), ct);
                    if (early is not null) return;
                    var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    early = (fallback, stop, Task.Run(async () =>
                    {
                        var v = await client.OpenVersionAsync(fallback, stop.Token).ConfigureAwait(false);
                        return (v, await DoubleDeck.FetchKernelAsync(client, v, Path.Combine(work, "vmlinuz.default"), stop.Token).ConfigureAwait(false));
                    }, stop.Token));
                }).ConfigureAwait(false);
        }
        catch
        {
            early?.Stop.Cancel();
            throw;
        }
        ResolvedVersion? version = null;
        string? kernel = null;
        if (early is { } e)
        {
            bool taken = e.Spec.ToString() == spec.ToString();
            if (!taken) await e.Stop.CancelAsync().ConfigureAwait(false);
            // Another choice, or the default's kernel could not be fetched: the chosen version's own path below says why.
            try { if (taken) (version, kernel) = await e.Work.ConfigureAwait(false); else await e.Work.ConfigureAwait(false); }
            catch (Exception x) when (x is OperationCanceledException && !ct.IsCancellationRequested || x is CircularException or IOException or HttpRequestException) { }
            e.Stop.Dispose();
        }
        version ??= await client.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        log.LogInformation("starting {Version} with its own kernel", version.Name);
        string current = await File.ReadAllTextAsync(o.CommandLine, ct).ConfigureAwait(false);
        // The next kernel gets this boot's DHCP lease as static settings (a user's own ip= is carried as it is).
        if (p.StaticIp is null && p.IpMode == "dhcp" && GuestNetwork.LeaseWord() is { } lease)
            current = string.Join(' ', current.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(w => !w.StartsWith("ip=", StringComparison.Ordinal)).Append(lease));
        string cmdline = DoubleDeck.CommandLine(version, current);
        await DoubleDeck.LoadAsync(client, version, (_, _) => initramfs ?? SaveInitramfsAsync(o, p, work, log, ct),
            release => !Directory.Exists(Path.Combine(o.InitramfsRoot, "lib", "modules", release)), cmdline, work, log, ct, kernel).ConfigureAwait(false);
        log.LogDebug("double-deck: {Version} loaded {Ms} ms after the menu was shown ({Kernel})", version.Name, clock.ElapsedMilliseconds,
            kernel is null ? "its kernel fetched after the choice" : "the default's kernel fetched while the menu waited");
        log.LogInformation("kexec: {CommandLine}", cmdline);
        KexecLoader.Execute();
    }

    /// <summary>
    /// The initramfs for the next kernel: the compressed one this kernel booted with, read back from the kernel
    /// (retain_initrd, newer kernels) or from the boot medium (circular.initrd=), else the running root packed again
    /// (three times the bytes for kexec_file_load and the purgatory to hash).
    /// </summary>
    private static async Task<string> SaveInitramfsAsync(NetRootOptions o, BootParameters p, string work, ILogger log, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(work);
        string? initramfs = null;
        if (!File.Exists(RunningInitramfs.RetainedPath) && p.MediumInitrd is { } onMedium && BootMediumInitramfs.BootedSize() is { } size)
            initramfs = await BootMediumInitramfs.TryCopyAsync(onMedium, size, Path.Combine(work, "circular.img"), Path.Combine(o.StatusDir, "medium"), ct).ConfigureAwait(false);
        initramfs ??= RunningInitramfs.SaveTo(o.InitramfsRoot, work);
        log.LogDebug("double-deck: initramfs {File} ({Size}) saved in {Ms} ms", initramfs, Core.Chunks.ByteSize.Format(new FileInfo(initramfs).Length), clock.ElapsedMilliseconds);
        return initramfs;
    }

    /// <summary>The console to read menu choices from (this process's stdin is not it: /init starts it in the background).</summary>
    private static StreamReader? OpenConsole()
    {
        try { return new StreamReader(new FileStream("/dev/console", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>circular.disk=: the root is a local disk (given by `circular boot`): drivers, then mount it and hand over.</summary>
    private static async Task<int> LocalDiskAsync(NetRootOptions o, BootParameters p, string disk, InitNotifier? notifier, ILogger log, CancellationToken ct)
    {
        await await LoadModulesAsync(o, log, ct).ConfigureAwait(false);
        for (int i = 0; i < 100 && !File.Exists(disk); i++) await Task.Delay(100, ct).ConfigureAwait(false);
        if (!File.Exists(disk)) throw new CircularException($"circular.disk={disk}: no such device (the drivers in this initramfs found no such disk)");
        // circular.overlay=tmpfs mounts the disk as a network boot mounts its root (read-only, a RAM layer on top): a boot
        // profile recorded this way reads what the diskless client will read (no writes to the disk, overlay copy-ups).
        // The same request and readahead sizes as on /dev/nbd0, too: with the disk's default 128 KiB readahead the
        // profile missed pages that the 1 MiB windows of a network boot read, each then fetched alone over the WAN.
        if (p.Overlay == "tmpfs") Tune(disk, p.ReadaheadKiB, log);
        string init = await RootFileSystem.MountAsync(disk, p, o.NewRoot, writableDir: null, log, ct, direct: p.Overlay != "tmpfs").ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "init"), init + "\n", ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(o.StatusDir, "ready"), disk + "\n", ct).ConfigureAwait(false);
        notifier?.Signal("ready");
        return 0;
    }

    /// <summary>
    /// The next boot's random seed (this one's was used up). When it cannot be written the old one is deleted, so it is
    /// not credited twice: the next boot then only starts a little slower.
    /// </summary>
    private static void RefreshSeed(LocalCache local, ILogger log)
    {
        try { RandomSeed.Refresh(local.Root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RandomSeed.Discard(local.Root);
            log.LogWarning("the random seed for the next boot was not written ({Reason})", e.Message);
        }
    }

    /// <summary>Attaches the image as the kernel's NBD device, tuned for large requests.</summary>
    private static async Task<KernelNbdDevice> AttachAsync(NetRootOptions o, BootParameters p, string export, Imaging.Images.IBlockImage image, ILogger log, CancellationToken ct)
    {
        var device = await KernelNbdDevice.AttachAsync(o.Device, export, image, new NbdServerOptions { Log = log }, ct).ConfigureAwait(false);
        Tune(o.Device, p.ReadaheadKiB, log);
        return device;
    }

    /// <summary>
    /// With CIRCULAR_DEBUG=1: this process's CPU time now and every 5 s while it serves, so a slow boot shows how much
    /// of the machine the root's server took (under emulation, where every cycle the client spends is the boot's).
    /// </summary>
    private static async Task LogCpuAsync(ILogger log, Task ended)
    {
        while (true)
        {
            var cpu = Environment.CpuUsage;
            log.LogDebug("cpu: {User:0.00} s user, {System:0.00} s system", cpu.UserTime.TotalSeconds, cpu.PrivilegedTime.TotalSeconds);
            if (await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) == ended) return;
        }
    }

    /// <summary>argv[0] as the kernel shows it (/proc/self/cmdline): what systemd reads to decide whom to spare.</summary>
    private static string ProcessName()
    {
        try { return File.ReadAllText("/proc/self/cmdline").Split('\0')[0]; }
        catch (IOException) { return "?"; }
    }

    /// <summary>How long a machine that can boot from its cache partition waits for a network card.</summary>
    private static readonly TimeSpan CardWaitWithCache = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The modules this initramfs always needs now (the cache partition's file system, disk classes) in one modprobe,
    /// then the drivers of the devices the machine has: each device's modalias, resolved by modprobe through
    /// modules.alias. Loading every driver the initramfs carries, one modprobe each, took seconds of an emulated boot;
    /// most were for cards the machine lacks. Drivers bring more devices (virtio_pci its virtio devices), so the devices
    /// are looked at again until none is new. The initramfs's /init does this same work alongside this process's start
    /// (drivers.loading, then drivers.loaded, in the status directory): then this only waits for it. Returns the loading
    /// of the rest (the late modules), started in the background, to be awaited before they are used.
    /// </summary>
    private static async Task<Task> LoadModulesAsync(NetRootOptions o, ILogger log, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var always = await ReadListAsync(o.ModulesList, ct).ConfigureAwait(false);
        var late = File.Exists(o.LateModulesList) ? await ReadListAsync(o.LateModulesList, ct).ConfigureAwait(false) : [.. Initramfs.InitramfsOptions.LateModules];
        var later = always.Where(late.Contains).ToList();
        if (await InitLoadedDriversAsync(o, log, ct).ConfigureAwait(false))
        {
            log.LogDebug("modules: /init loaded the drivers ({Ms} ms waited); {Later} in the background", clock.ElapsedMilliseconds, later.Count);
        }
        else
        {
            var now = always.Where(m => !late.Contains(m)).ToList();
            if (now.Count > 0) await ModprobeAsync(["-a", .. now], log, ct).ConfigureAwait(false);
            int drivers = 0;
            if (File.Exists(o.DriversList))
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (int pass = 0; pass < 4; pass++)
                {
                    var fresh = DeviceAliases().Where(seen.Add).ToList();
                    if (fresh.Count == 0) break;
                    drivers += fresh.Count;
                    await ModprobeAsync(["-q", "-a", .. fresh], log, ct).ConfigureAwait(false);
                }
            }
            log.LogDebug("modules: {Now} now and drivers for {Devices} device ids in {Ms} ms; {Later} in the background", now.Count, drivers, clock.ElapsedMilliseconds, later.Count);
        }
        return later.Count > 0 ? LaterAsync() : Task.CompletedTask;

        async Task LaterAsync()
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            await ModprobeAsync(["-a", .. later], log, ct).ConfigureAwait(false);
            log.LogDebug("modules: {Later} more in {Ms} ms", later.Count, started.ElapsedMilliseconds);
        }
    }

    /// <summary>
    /// Waits for /init's loading of the first modules and drivers, when it started one; false when it did not (this
    /// process then loads them) or it has not finished within a minute (a stuck modprobe: this process tries itself).
    /// </summary>
    private static async Task<bool> InitLoadedDriversAsync(NetRootOptions o, ILogger log, CancellationToken ct)
    {
        string loading = Path.Combine(o.StatusDir, "drivers.loading"), loaded = Path.Combine(o.StatusDir, "drivers.loaded");
        if (!File.Exists(loading) && !File.Exists(loaded)) return false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // A rename ends the loading, so one of the two files exists at every moment; polled (a stat each time) because
        // the wait is short and usually over before this process gets here.
        while (!File.Exists(loaded))
        {
            if (clock.Elapsed > InitDriversWait)
            {
                log.LogWarning("/init's loading of the drivers has not finished after {Seconds} s: loading them again", InitDriversWait.TotalSeconds);
                return false;
            }
            await Task.Delay(10, ct).ConfigureAwait(false);
        }
        return true;
    }

    private static readonly TimeSpan InitDriversWait = TimeSpan.FromMinutes(1);

    private static async Task<List<string>> ReadListAsync(string file, CancellationToken ct) =>
        File.Exists(file) ? (await File.ReadAllLinesAsync(file, ct).ConfigureAwait(false)).Where(l => !string.IsNullOrWhiteSpace(l)).ToList() : [];

    private static async Task ModprobeAsync(string[] args, ILogger log, CancellationToken ct)
    {
        var r = await Programs.RunAsync("modprobe", args, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        if (!r.Ok) log.LogDebug("modprobe {Args}: {Output}", string.Join(' ', args), r.Output);
    }

    /// <summary>Every device's modalias (/sys/bus/*/devices/*/modalias).</summary>
    private static IEnumerable<string> DeviceAliases()
    {
        var aliases = new List<string>();
        try
        {
            foreach (string bus in Directory.EnumerateDirectories("/sys/bus"))
            {
                string devices = Path.Combine(bus, "devices");
                if (!Directory.Exists(devices)) continue;
                foreach (string device in Directory.EnumerateDirectories(devices))
                {
                    string file = Path.Combine(device, "modalias");
                    if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } alias) aliases.Add(alias);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return aliases.Distinct(StringComparer.Ordinal);
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

    /// <summary>
    /// Bigger requests from the kernel: fewer, larger reads of whole chunks instead of 128 KiB pieces. Logs the window
    /// the kernel took (read back), so a console shows what circular.readahead did.
    /// </summary>
    private static void Tune(string device, int readaheadKiB, ILogger log)
    {
        string queue = $"/sys/block/{Path.GetFileName(device)}/queue";
        string readahead = readaheadKiB.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (file, value) in new[] { ("max_sectors_kb", "1024"), ("read_ahead_kb", readahead) })
        {
            try { File.WriteAllText(Path.Combine(queue, file), value); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        try { log.LogInformation("{Device}: readahead {Window} KiB", device, File.ReadAllText(Path.Combine(queue, "read_ahead_kb")).Trim()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
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
