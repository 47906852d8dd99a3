using System.CommandLine;
using Circular.Boot.Initramfs;
using Circular.Boot.Media;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Signing;

namespace Circular.Cli.Commands;

public static class IsoCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory or URL to read the version's kernel from" };
        var spec = new Argument<string?>("IMAGE") {
            Description = "NAME (the latest version when the machine boots), NAME@VERSION or NAME@TAG; without it, the universal medium: " +
                "a menu of the archive's images at boot, each started with its own kernel (kexec)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<string>("--output", "-o") { Description = "The ISO file to write", Required = true };
        var url = new Option<string?>("--url") { Description = "The archive's URL as booted machines reach it (default: SOURCE, when it is a URL)" };
        var mirrors = new Option<string[]>("--mirror") { Description = "Another URL of the archive for booted machines (repeatable; they fail over to it)", AllowMultipleArgumentsPerToken = false };
        var append = new Option<string?>("--append") { Description = "More kernel command-line words for the booted machine (e.g. circular.image=NAME@V circular.menu-timeout=5: the universal medium's default and timeout)" };
        var kernel = new Option<string?>("--kernel") { Description = "Universal medium: the kernel it starts first (default: this machine's newest /boot/vmlinuz-*)" };
        var menuTimeout = new Option<int>("--menu-timeout") { Description = "Universal medium: seconds its menu waits before booting the default", DefaultValueFactory = _ => 10 };
        var kernelModules = new Option<string?>("--modules") { Description = "Module tree for the initramfs (default: /lib/modules/RELEASE of the kernel)" };
        var initramfs = new Option<string?>("--initramfs") { Description = "Use this Circular initramfs instead of building one" };
        var client = new ClientOptions(readMirrors: false);
        var cmd = new Command("iso",
            "Write a small hybrid boot ISO (CD or USB stick, BIOS and UEFI): the version's kernel, the Circular initramfs and a command " +
            "line naming the archive, so any machine boots the image straight from the network (the seed's InetBoot CD). Without IMAGE: " +
            "the universal medium, whose menu is read from the archive at boot and which kexecs into the chosen version's own kernel")
            { source, spec, output, url, mirrors, append, kernel, menuTimeout, kernelModules, initramfs };
        client.AddTo(cmd);
        client.Trust.Description = "Accept only archives signed by this key (KEY.pub; repeatable), now and in booted machines, which carry it";
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string src = pr.GetValue(source)!;
            string bootUrl = pr.GetValue(url) ?? (ArchiveLocation.IsUrl(src) ? src
                : throw new UsageException("--url URL: SOURCE is a local directory; give the archive's URL as booting machines will reach it"));
            if (!ArchiveLocation.IsUrl(bootUrl)) throw new UsageException($"--url '{bootUrl}' is not an http(s) URL");
            var keys = (pr.GetValue(client.Trust) ?? []).ToList();
            var ids = keys.Select(k => VerifyingKey.Load(k).Id).ToList();
            string[] urls = [bootUrl, .. pr.GetValue(mirrors) ?? []];
            string iso = pr.GetValue(output)!;
            var template = new InitramfsOptions { ModuleTree = "", Circular = InitramfsCommand.GuestExecutable(), TrustKeys = keys, Compression = "xz" };
            await using var archive = await ArchiveClient.OpenAsync(client.Read(pr, src), ct);
            if (pr.GetValue(spec) is not { } named)
                return await UniversalAsync(archive, iso, urls, ids, template, pr.GetValue(kernel), pr.GetValue(kernelModules), pr.GetValue(initramfs),
                    pr.GetValue(menuTimeout), pr.GetValue(append), ct);
            if (pr.GetValue(kernel) is not null) throw new UsageException("--kernel is for the universal medium (no IMAGE): a named image boots its own kernel");

            var image = ImageSpec.Parse(named);
            using var inputs = await MediaInputs.PrepareAsync(archive, image, template, pr.GetValue(kernelModules), pr.GetValue(initramfs), ct);
            string cmdline = CommandLine.For(urls, image, ids, pr.GetValue(append));
            string title = $"Circular: {image}{(image.Selector is null ? " (latest)" : "")} from {bootUrl}";
            await BootIso.WriteAsync(iso, inputs.Kernel, inputs.Initramfs, [new BootEntry(title, cmdline)], ct);
            System.Console.WriteLine($"wrote {iso}: {ByteSize.Format(new FileInfo(iso).Length)} (kernel {inputs.KernelRelease} of {inputs.Version.Name}, " +
                $"initramfs {ByteSize.Format(new FileInfo(inputs.Initramfs).Length)})");
            System.Console.WriteLine($"boots: {cmdline}");
            return CommandAction.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// The kernel keeps the initramfs it booted with (/sys/firmware/initrd): the double-deck boot hands that compressed
    /// image to the version's kernel instead of packing the running one again (docs/inetboot.md).
    /// </summary>
    private const string RetainInitrd = "retain_initrd";

    /// <summary>The universal medium: a generic kernel and the Circular initramfs whose menu comes from the archive at boot.</summary>
    private static async Task<int> UniversalAsync(ArchiveClient archive, string iso, IReadOnlyList<string> urls, IReadOnlyList<string> ids, InitramfsOptions template,
        string? kernel, string? moduleTree, string? initramfs, int menuTimeout, string? append, CancellationToken ct)
    {
        if (menuTimeout < 1) throw new UsageException("--menu-timeout must be at least 1 second");
        if ((await archive.Reader.ListImagesAsync(ct)).Count == 0) throw new NotFoundException($"{archive.Location} holds no image to boot");
        kernel ??= Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").OrderBy(f => f, StringComparer.Ordinal).LastOrDefault() : null;
        if (kernel is null || !File.Exists(kernel)) throw new NotFoundException("no kernel for the universal medium: give --kernel FILE (and --modules DIR), or apt-get install linux-image-amd64");
        string release = KernelImage.Release(kernel) ?? throw new UsageException($"{kernel} is not an x86 Linux kernel (bzImage)");
        string work = Directory.CreateTempSubdirectory("circular-iso-").FullName;
        try
        {
            if (initramfs is null)
            {
                string tree = moduleTree ?? Path.Combine("/lib/modules", release);
                if (!Directory.Exists(tree)) throw new NotFoundException($"/lib/modules/{release} is not here: apt-get install linux-image-{release}, or pass --modules DIR");
                initramfs = Path.Combine(work, "initramfs");
                await using var file = File.Create(initramfs);
                InitramfsBuilder.Build(template with { ModuleTree = tree }, file);
            }
            var words = new List<string> { "console=tty0", "console=ttyS0,115200", $"circular.url={string.Join(',', urls.Select(u => u.TrimEnd('/')))}",
                $"circular.menu-timeout={menuTimeout}", RetainInitrd, $"circular.initrd={BootIso.InitramfsPath}" };
            if (ids.Count > 0) words.Add($"circular.trust={string.Join(',', ids)}");
            if (!string.IsNullOrWhiteSpace(append)) words.Add(append.Trim());
            string cmdline = string.Join(' ', words);
            await BootIso.WriteAsync(iso, kernel, initramfs, [new BootEntry($"Circular: boot menu of {urls[0]}", cmdline)], ct);
            System.Console.WriteLine($"wrote {iso}: {ByteSize.Format(new FileInfo(iso).Length)} (universal: kernel {release}, initramfs " +
                $"{ByteSize.Format(new FileInfo(initramfs).Length)}; the menu and each version's own kernel come from the archive at boot)");
            System.Console.WriteLine($"boots: {cmdline}");
            return CommandAction.Ok;
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}
