using System.CommandLine;
using Circular.Boot.Initramfs;
using Circular.Boot.Netboot;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Signing;

namespace Circular.Cli.Commands;

public static class NetbootCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Local archive directory to write boot/ into" };
        var name = new Argument<string>("NAME") { Description = "The image whose versions get boot scripts" };
        var url = new Option<string>("--url") { Description = "The archive's URL as booting machines reach it (what iPXE chains from)", Required = true };
        var mirrors = new Option<string[]>("--mirror") { Description = "Another URL of the archive for booted machines (repeatable)", AllowMultipleArgumentsPerToken = false };
        var trust = new Option<string[]>("--trust") { Description = "Booted machines accept only archives signed by this key (KEY.pub; repeatable), which the initramfs carries", AllowMultipleArgumentsPerToken = false };
        var append = new Option<string?>("--append") { Description = "More kernel command-line words for booted machines" };
        var modules = new Option<string?>("--modules") { Description = "Module tree for the initramfs (default: /lib/modules/RELEASE of each version's kernel)" };
        var iso = new Option<bool>("--iso") { Description = "Also write a boot ISO per version (boot/NAME/VERSION.iso), which the catalog offers for download" };
        var cmd = new Command("netboot",
            "Write what network boot needs into the archive, as static files: boot/NAME/VERSION.ipxe, latest.ipxe and TAG.ipxe (iPXE " +
            "scripts), the versions' kernels and the Circular initramfs. Any iPXE (a NIC's boot ROM, ipxe.lkrn, a USB stick) then boots a " +
            "version with: chain URL/boot/NAME/latest.ipxe")
            { archive, name, url, mirrors, trust, append, modules, iso };
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            string root = pr.GetValue(archive)!;
            string image = pr.GetValue(name)!;
            ImageName.Validate(image);
            string bootUrl = pr.GetValue(url)!;
            var urls = new[] { bootUrl }.Concat(pr.GetValue(mirrors) ?? []).ToList();
            foreach (var u in urls) if (!ArchiveLocation.IsUrl(u)) throw new UsageException($"'{u}' is not an http(s) URL");
            if (ArchiveLocation.IsUrl(root)) throw new UsageException("netboot writes into a local archive directory; publish it with a web server (or let 'circular serve' answer boot/ itself)");
            var keys = pr.GetValue(trust) ?? [];
            await using var client = await ArchiveClient.OpenAsync(new ArchiveClientOptions { Location = root, Trust = TrustOptions.None, Log = ConsoleLog.Instance }, ct);
            var template = new InitramfsOptions { ModuleTree = pr.GetValue(modules) ?? "", Circular = InitramfsCommand.GuestExecutable(), TrustKeys = keys };
            var report = await NetbootWriter.WriteAsync(client, Path.GetFullPath(root), image, urls, template,
                keys.Select(k => VerifyingKey.Load(k).Id).ToList(), pr.GetValue(append), ConsoleLog.Instance, ct, isos: pr.GetValue(iso));
            foreach (var s in report.Skipped) System.Console.Error.WriteLine($"circular: warning: skipped {s}");
            if (report.Scripts.Count == 0) throw new NotFoundException($"no version of '{image}' has a kernel stored with it: push one with --kernel FILE");
            foreach (var s in report.Scripts) System.Console.WriteLine($"wrote {s}");
            foreach (var f in report.Files) System.Console.WriteLine($"wrote {f}");
            System.Console.WriteLine($"boot with iPXE: chain {bootUrl.TrimEnd('/')}/{NetbootLayout.Script(image, "latest")}");
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
