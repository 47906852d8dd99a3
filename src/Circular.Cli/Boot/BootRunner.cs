using System.Diagnostics;
using System.Text;
using Circular.Boot.Media;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Nbd;

namespace Circular.Cli.Boot;

/// <summary>What to boot and how: <see cref="Client"/> names the archive and how the disk is read (cache, overlays, measurement, hot data).</summary>
public sealed record BootRequest(ArchiveClientOptions Client, ImageSpec Spec)
{
    public string Memory { get; init; } = "512M";
    public bool Writable { get; init; }
    public string? Kernel { get; init; }
    public string? Initrd { get; init; }
    public string? Append { get; init; }
    public string Accel { get; init; } = "auto";
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];
    /// <summary>Text on the serial console that means "booted"; its first appearance is timed.</summary>
    public string? ReadyMarker { get; init; }
    /// <summary>Where the guest's console goes (null: standard output).</summary>
    public Stream? Console { get; init; }
}

/// <summary>How a boot went: timings, what crossed the network, what the cache served.</summary>
public sealed record BootReport(
    string Version, string Accel, TimeSpan Elapsed, TimeSpan? Ready, int ExitCode, long ImageSize,
    long BytesFetched, long Requests, long CacheHits, long CacheMisses, string ConsoleText);

/// <summary>
/// Boots an image version in QEMU with its disk served by Circular's NBD front end over a private Unix socket:
/// nothing is downloaded up front; blocks come on demand through the cache. The NBD server lives exactly as long
/// as QEMU; cancelling (Ctrl-C) stops QEMU first.
/// </summary>
public static class BootRunner
{
    public const string Qemu = "qemu-system-x86_64";

    public static async Task<BootReport> RunAsync(BootRequest req, CancellationToken ct)
    {
        string work = Directory.CreateTempSubdirectory("circular-boot-").FullName;
        using var stopServer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            await using var src = await ImageSource.OpenAsync(req.Client, ct).ConfigureAwait(false);
            var client = src.Client ?? throw new UsageException($"{req.Client.Location} is a plain image, not an archive: use 'circular nbd' and your own QEMU command");
            var version = await client.OpenVersionAsync(req.Spec, ct).ConfigureAwait(false);
            var (entry, manifest) = (version.Entry, version.Manifest);
            string export = version.Name;
            req.Client.Measure?.MeasureManifest(entry.ManifestDigest, export); // before the kernel and initrd chunks it vouches for

            // Open the export now rather than when QEMU connects: prefetching starts while QEMU and the guest's kernel start.
            await (await src.Catalog.OpenAsync(export, writable: false, ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);

            string sock = Path.Combine(work, "nbd.sock");
            var server = new NbdServer(src.Catalog, new NbdServerOptions { Writable = req.Writable });
            var serving = server.ServeAsync(NbdEndPoints.Unix(sock), stopServer.Token);
            if (await Task.WhenAny(server.Listening, serving).ConfigureAwait(false) == serving) await serving.ConfigureAwait(false);

            var args = new List<string> { "-m", req.Memory, "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio" };
            string accel = await AccelProbe.ChooseAsync(req.Accel, Qemu, work, ct).ConfigureAwait(false);
            args.AddRange(["-accel", accel]);
            if (accel == "kvm") args.AddRange(["-cpu", "host"]);
            // Read-only boots still give the guest a writable disk: its writes land in QEMU's throwaway snapshot.
            args.AddRange(["-drive", $"file=nbd+unix:///{Uri.EscapeDataString(export)}?socket={sock},format=raw,if=virtio,cache=writeback{(req.Writable ? "" : ",snapshot=on")}"]);
            await AddBootAssetsAsync(req, manifest, client.Chunks, work, args, ct).ConfigureAwait(false);
            args.AddRange(req.ExtraArgs);

            var report = await RunQemuAsync(args, req, ct).ConfigureAwait(false);
            // A host whose KVM passed the probe can still fail the real guest at once (seen: an MSR QEMU cannot set);
            // with --accel auto that is a reason to use TCG, not to fail the boot.
            if (accel == "kvm" && req.Accel == "auto" && report.ExitCode != 0 && report.Ready is null && report.Elapsed < TimeSpan.FromSeconds(5))
            {
                System.Console.Error.WriteLine($"circular: warning: QEMU failed under KVM at once (exit {report.ExitCode}); booting with TCG");
                int at = args.IndexOf("-accel");
                args[at + 1] = accel = "tcg";
                if (args[at + 2] == "-cpu") args.RemoveRange(at + 2, 2);
                report = await RunQemuAsync(args, req, ct).ConfigureAwait(false);
            }
            stopServer.Cancel();
            try { await serving.ConfigureAwait(false); } catch (OperationCanceledException) { }
            return report with {
                Version = export,
                Accel = accel,
                ImageSize = manifest.ImageSize,
                BytesFetched = client.Http?.BytesReceived ?? 0,
                Requests = client.Http?.Requests ?? 0,
                CacheHits = client.Cache?.Hits ?? 0,
                CacheMisses = client.Cache?.Misses ?? 0,
            };
        }
        finally
        {
            stopServer.Cancel();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>--initrd circular: the small Circular initramfs instead of the image's own (often 30 MB and more) initrd.</summary>
    public const string CircularInitrd = "circular";

    private static async Task AddBootAssetsAsync(BootRequest req, Core.Manifests.Manifest manifest, Storage.Chunks.IChunkSource chunks, string work, List<string> args, CancellationToken ct)
    {
        var boot = manifest.Metadata.Boot;
        string? kernel = req.Kernel, initrd = req.Initrd is CircularInitrd ? null : req.Initrd;
        // Kernel and initrd come at once, each many chunks at a time: over a WAN one chunk after another cost a round
        // trip each (10-14 s for a Debian kernel and initrd at 50 ms).
        async Task<string?> Fetch(Core.Manifests.AssetRef? asset, string name, string? given) =>
            asset is null ? given : await BootAssetFiles.FetchAsync(asset, manifest.AssetBlockSize, chunks, Path.Combine(work, name), ct).ConfigureAwait(false);
        var kernelFetch = Fetch(kernel is null ? boot?.Kernel : null, "kernel", kernel);
        var initrdFetch = Fetch(req.Kernel is null && req.Initrd is null ? boot?.Initrd : null, "initrd", initrd);
        kernel = await kernelFetch.ConfigureAwait(false);
        initrd = await initrdFetch.ConfigureAwait(false);
        if (kernel is null)
        {
            if (req.Initrd is CircularInitrd) throw new UsageException("--initrd circular needs a kernel: stored with the version (push --kernel) or given with --kernel");
            return; // BIOS boot through the disk's own boot loader
        }
        if (!File.Exists(kernel)) throw new NotFoundException($"kernel {kernel} does not exist");
        string append = req.Append ?? boot?.Append ?? "console=ttyS0 root=/dev/vda";
        if (req.Initrd is CircularInitrd)
        {
            initrd = await CircularInitramfs.ForKernelAsync(kernel, req.Client.CacheDirectory, ct).ConfigureAwait(false);
            append += " circular.disk=/dev/vda";
        }
        args.AddRange(["-kernel", kernel]);
        if (initrd is not null) args.AddRange(["-initrd", initrd]);
        args.AddRange(["-append", append]);
    }

    private static async Task<BootReport> RunQemuAsync(List<string> args, BootRequest req, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(Qemu) { RedirectStandardOutput = true, RedirectStandardInput = false, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        Process qemu;
        try { qemu = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new CircularException($"{Qemu} not found: apt-get install qemu-system-x86"); }
        using (qemu)
        {
            var console = new StringBuilder();
            TimeSpan? ready = null;
            var output = req.Console ?? System.Console.OpenStandardOutput();
            var pump = Task.Run(async () =>
            {
                var buf = new byte[4096];
                var stream = qemu.StandardOutput.BaseStream;
                int n;
                while ((n = await stream.ReadAsync(buf, CancellationToken.None).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buf.AsMemory(0, n), CancellationToken.None).ConfigureAwait(false);
                    await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    lock (console)
                    {
                        console.Append(Encoding.UTF8.GetString(buf, 0, n));
                        if (ready is null && req.ReadyMarker is { } m && console.ToString().Contains(m, StringComparison.Ordinal)) ready = clock.Elapsed;
                        if (console.Length > 1 << 20) console.Remove(0, console.Length - (1 << 19));
                    }
                }
            }, CancellationToken.None);
            try
            {
                await qemu.WaitForExitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Interrupted: stop the guest, then let the caller stop the NBD server.
                try { qemu.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                await qemu.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            finally
            {
                await pump.ConfigureAwait(false);
            }
            string text;
            lock (console) text = console.ToString();
            return new BootReport("", "", clock.Elapsed, ready, qemu.ExitCode, 0, 0, 0, 0, 0, text);
        }
    }
}
