using System.CommandLine;
using System.Globalization;
using Circular.Boot.Initramfs;
using Circular.Boot.Media;
using Circular.Boot.Seed;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Signing;

namespace Circular.Cli.Commands;

public static class SeedCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory or URL (with --info: the seed disk file)" };
        var spec = new Argument<string?>("IMAGE") { Description = "NAME (the latest version at each boot), NAME@VERSION or NAME@TAG", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string?>("--output", "-o") { Description = "The disk file to write; its name gives the format (.img .raw .qcow2 .vmdk .vdi .vhdx .vhd)" };
        var format = new Option<string?>("--format") { Description = "raw, qcow2, vmdk, vdi, vhdx or vpc (VHD) (default: from the file name)" };
        var vmdk = new Option<string?>("--vmdk-subformat") { Description = "monolithicSparse (Workstation, Fusion, VirtualBox; the default) or streamOptimized (ESXi, OVF: an import format, converted when imported)" };
        var size = new Option<string>("--size") { Description = "The disk's size as the machine sees it: boot files, then the cache partition (default 16G); the file grows only as blocks are fetched", DefaultValueFactory = _ => "16G" };
        var url = new Option<string?>("--url") { Description = "The archive's URL as the booted machine reaches it (default: SOURCE, when it is a URL)" };
        var mirrors = new Option<string[]>("--mirror") { Description = "Another URL of the archive for the booted machine (repeatable; it fails over to them)", AllowMultipleArgumentsPerToken = false };
        var fill = new Option<string>("--fill") { Description = "What to store in the cache now: none, profile (the boot profile's blocks or packs: a first boot fetches almost nothing) or all (a fully offline disk)", DefaultValueFactory = _ => "none" };
        var append = new Option<string?>("--append") { Description = "More kernel command-line words for the booted machine" };
        var kernelModules = new Option<string?>("--modules") { Description = "Module tree for the initramfs (default: /lib/modules/RELEASE of the version's kernel)" };
        var initramfs = new Option<string?>("--initramfs") { Description = "Use this Circular initramfs instead of building one" };
        var menuTimeout = new Option<int>("--menu-timeout") { Description = "Seconds the boot menu waits before booting its first entry (digits 1-9 pick an entry at once)", DefaultValueFactory = _ => 5 };
        var force = new Option<bool>("--force") { Description = "Replace the output file if it exists" };
        var info = new Option<bool>("--info") { Description = "Print what the seed disk SOURCE points at, its cache use and its writable layers" };
        var client = new ClientOptions(readMirrors: false);
        var cmd = new Command("seed",
            "Write a seed disk for any hypervisor (VMSeed): a small virtual disk that boots the image from the archive under BIOS or UEFI and keeps " +
            "every block it fetched in its own cache partition, so it grows to what the machine uses and boots offline afterwards")
            { source, spec, output, format, vmdk, size, url, mirrors, fill, menuTimeout, append, kernelModules, initramfs, force, info };
        client.AddTo(cmd);
        client.Trust.Description = "Accept only archives signed by this key (KEY.pub; repeatable), now and in the booted machine, which carries it";
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string src = pr.GetValue(source)!;
            if (pr.GetValue(info)) return await PrintInfoAsync(src, ct);
            var image = ImageSpec.Parse(pr.GetValue(spec) ?? throw new UsageException("name the image to boot: circular seed SOURCE NAME[@VERSION|@TAG] -o FILE"));
            string file = pr.GetValue(output) ?? throw new UsageException("--output FILE is required (the seed disk to write)");
            var diskFormat = pr.GetValue(format) is { } f ? DiskFormat.Parse(f) : DiskFormat.FromFileName(file)
                ?? throw new UsageException($"cannot tell the disk format from '{Path.GetFileName(file)}': give --format raw|qcow2|vmdk|vdi|vhdx|vpc or a file name ending in one");
            string? subformat = pr.GetValue(vmdk);
            if (subformat is not null)
            {
                if (diskFormat != DiskFormat.Vmdk) throw new UsageException("--vmdk-subformat is for vmdk disks only");
                subformat = DiskFormat.VmdkSubformats.FirstOrDefault(s => s.Equals(subformat, StringComparison.OrdinalIgnoreCase))
                    ?? throw new UsageException($"--vmdk-subformat {subformat}: expected {string.Join(" or ", DiskFormat.VmdkSubformats)}");
            }
            long bytes = ByteSize.Parse(pr.GetValue(size)!);
            var fillMode = pr.GetValue(fill) switch {
                "none" => SeedFill.None,
                "profile" => SeedFill.Profile,
                "all" => SeedFill.All,
                var other => throw new UsageException($"--fill {other}: expected none, profile or all"),
            };
            int timeout = pr.GetValue(menuTimeout);
            if (timeout < 0) throw new UsageException("--menu-timeout must be 0 or more seconds");
            if (File.Exists(file) && !pr.GetValue(force)) throw new UsageException($"{file} exists: give --force to replace it");
            string bootUrl = pr.GetValue(url) ?? (ArchiveLocation.IsUrl(src) ? src
                : throw new UsageException("--url URL: SOURCE is a local directory; give the archive's URL as the booted machine will reach it"));
            if (!ArchiveLocation.IsUrl(bootUrl)) throw new UsageException($"--url '{bootUrl}' is not an http(s) URL");
            SeedDiskWriter.CheckInstalled(diskFormat);

            var keys = (pr.GetValue(client.Trust) ?? []).ToList();
            var read = client.Read(pr, src);
            await using var archive = await ArchiveClient.OpenAsync(read, ct);
            // zstd, not xz: a seed disk has room for the extra MiB, and under emulation xz's unpacking cost seconds of every boot.
            var template = new InitramfsOptions { ModuleTree = "", Circular = InitramfsCommand.GuestExecutable(), TrustKeys = keys, Compression = "zstd" };
            using var inputs = await MediaInputs.PrepareAsync(archive, image, template, pr.GetValue(kernelModules), pr.GetValue(initramfs), ct);
            // The size must hold the boot files (and GRUB's ~1 MiB) before anything is filled.
            SeedDiskWriter.Layout(bytes, new FileInfo(inputs.Kernel).Length + new FileInfo(inputs.Initramfs).Length + (1 << 20));
            var ids = keys.Select(k => VerifyingKey.Load(k).Id).ToList();
            string[] urls = [bootUrl, .. pr.GetValue(mirrors) ?? []];
            var cacheUuid = Guid.NewGuid();
            var menu = SeedMenu.For(image, inputs.Version.Refs, inputs.Version.Entry.Version, urls, ids, cacheUuid.ToString(), pr.GetValue(append));

            string work = Directory.CreateTempSubdirectory("circular-seed-cache-").FullName;
            try
            {
                string staging = CachePartition.CreateStaging(work);
                // Every fill stores the version's metadata; profile and all add blocks.
                var fillOptions = read with {
                    CacheDirectory = Path.Combine(staging, CachePartition.CacheDir),
                    CacheQuota = long.MaxValue,
                    CacheAs = SeedCacheFill.GuestLocation(bootUrl),
                    Trust = read.Trust with { StateDirectory = Path.Combine(work, "trust") },
                };
                long filled = await SeedCacheFill.FillAsync(fillOptions, image, fillMode, ConsoleLog.Instance, ct);
                var description = new SeedDescription {
                    Created = DateTimeOffset.UtcNow,
                    Urls = urls,
                    Image = image.ToString(),
                    Version = inputs.Version.Name,
                    KernelRelease = inputs.KernelRelease,
                    TrustKeyIds = ids,
                    CacheUuid = cacheUuid.ToString(),
                    Fill = pr.GetValue(fill)!,
                    FilledBytes = filled,
                    Menu = menu,
                };
                await SeedDiskWriter.WriteAsync(new SeedDiskRequest {
                    Output = file,
                    Format = diskFormat,
                    VmdkSubformat = subformat,
                    Size = bytes,
                    Kernel = inputs.Kernel,
                    Initramfs = inputs.Initramfs,
                    Description = description,
                    CacheStaging = staging,
                    CacheUuid = cacheUuid,
                    Force = pr.GetValue(force),
                    MenuTimeoutSeconds = timeout,
                }, ConsoleLog.Instance, ct);
                // The size it was written with and what the file holds: reading the disk back (a raw copy of it) would cost as much again.
                long allocated = await SeedInfo.AllocatedBytesAsync(file, ct);
                System.Console.WriteLine($"wrote {file}: {diskFormat.Name}{(subformat is null ? "" : $" ({subformat})")} seed disk of {ByteSize.Format(SeedDiskWriter.RoundedSize(bytes))}, " +
                    $"{ByteSize.Format(allocated)} allocated (kernel {inputs.KernelRelease} of {inputs.Version.Name}" +
                    (filled > 0 ? $", {ByteSize.Format(filled)} of blocks in its cache" : "") + ")");
                System.Console.WriteLine($"boots: {menu[0].CommandLine}");
            }
            finally { Directory.Delete(work, recursive: true); }
            return CommandAction.Ok;
        });
        return cmd;
    }

    private static async Task<int> PrintInfoAsync(string file, CancellationToken ct)
    {
        var i = await SeedInfo.ReadAsync(file, ct);
        var d = i.Description;
        var o = System.Console.Out;
        o.WriteLine($"{file}: {i.Format} seed disk of {ByteSize.Format(i.VirtualSize)}, {ByteSize.Format(i.AllocatedSize)} allocated");
        o.WriteLine($"  boots:    {d.Image} from {string.Join(", ", d.Urls)}");
        o.WriteLine($"  trust:    {(d.TrustKeyIds.Count > 0 ? "keys " + string.Join(", ", d.TrustKeyIds) : "no key named (a signed archive's key is pinned on first boot)")}");
        o.WriteLine($"  kernel:   {d.KernelRelease} (of {d.Version}), written {d.Created.ToString("u", CultureInfo.InvariantCulture)}");
        o.WriteLine("  menu:");
        foreach (var e in d.Menu) o.WriteLine($"    {e.Title}");
        string used = i.CacheUsed >= 0 ? $"{ByteSize.Format(i.CacheUsed)} used" : "use unknown";
        o.WriteLine($"  cache:    partition of {ByteSize.Format(i.CachePartitionSize)} (UUID {d.CacheUuid}), {used}; filled at creation: {d.Fill}" +
            (d.FilledBytes > 0 ? $" ({ByteSize.Format(d.FilledBytes)})" : ""));
        o.WriteLine(i.LastBoot is { } b
            ? $"  last boot: {b.Booted.ToString("u", CultureInfo.InvariantCulture)}, {b.Version}, {(b.Online ? "online" : "offline")}, {ByteSize.Format(b.CacheBytes)} of chunks cached (quota {ByteSize.Format(b.CacheQuota)})"
            : "  last boot: never booted");
        o.WriteLine($"  writable layers: {(i.Layers.Count > 0 ? string.Join(", ", i.Layers) : "none")}");
        return CommandAction.Ok;
    }
}
