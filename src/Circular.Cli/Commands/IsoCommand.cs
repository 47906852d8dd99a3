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
        var spec = new Argument<string>("IMAGE") { Description = "NAME (the latest version when the machine boots), NAME@VERSION or NAME@TAG" };
        var output = new Option<string>("--output", "-o") { Description = "The ISO file to write", Required = true };
        var url = new Option<string?>("--url") { Description = "The archive's URL as booted machines reach it (default: SOURCE, when it is a URL)" };
        var mirrors = new Option<string[]>("--mirror") { Description = "Another URL of the archive for booted machines (repeatable; they fail over to it)", AllowMultipleArgumentsPerToken = false };
        var append = new Option<string?>("--append") { Description = "More kernel command-line words for the booted machine" };
        var kernelModules = new Option<string?>("--modules") { Description = "Module tree for the initramfs (default: /lib/modules/RELEASE of the version's kernel)" };
        var initramfs = new Option<string?>("--initramfs") { Description = "Use this Circular initramfs instead of building one" };
        var client = new ClientOptions(readMirrors: false);
        var cmd = new Command("iso",
            "Write a small hybrid boot ISO (CD or USB stick, BIOS and UEFI): the version's kernel, the Circular initramfs and a command " +
            "line naming the archive, so any machine boots the image straight from the network (the seed's InetBoot CD)")
            { source, spec, output, url, mirrors, append, kernelModules, initramfs };
        client.AddTo(cmd);
        client.Trust.Description = "Accept only archives signed by this key (KEY.pub; repeatable), now and in booted machines, which carry it";
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var image = ImageSpec.Parse(pr.GetValue(spec)!);
            string src = pr.GetValue(source)!;
            string bootUrl = pr.GetValue(url) ?? (ArchiveLocation.IsUrl(src) ? src
                : throw new UsageException("--url URL: SOURCE is a local directory; give the archive's URL as booting machines will reach it"));
            if (!ArchiveLocation.IsUrl(bootUrl)) throw new UsageException($"--url '{bootUrl}' is not an http(s) URL");
            var keys = (pr.GetValue(client.Trust) ?? []).ToList();
            await using var archive = await ArchiveClient.OpenAsync(client.Read(pr, src), ct);
            var template = new InitramfsOptions { ModuleTree = "", Circular = InitramfsCommand.GuestExecutable(), TrustKeys = keys, Compression = "xz" };
            using var inputs = await MediaInputs.PrepareAsync(archive, image, template, pr.GetValue(kernelModules), pr.GetValue(initramfs), ct);
            var ids = keys.Select(k => VerifyingKey.Load(k).Id).ToList();
            string cmdline = CommandLine.For([bootUrl, .. pr.GetValue(mirrors) ?? []], image, ids, pr.GetValue(append));
            string title = $"Circular: {image}{(image.Selector is null ? " (latest)" : "")} from {bootUrl}";
            string iso = pr.GetValue(output)!;
            await BootIso.WriteAsync(iso, inputs.Kernel, inputs.Initramfs, [new BootEntry(title, cmdline)], ct);
            System.Console.WriteLine($"wrote {iso}: {ByteSize.Format(new FileInfo(iso).Length)} (kernel {inputs.KernelRelease} of {inputs.Version.Name}, " +
                $"initramfs {ByteSize.Format(new FileInfo(inputs.Initramfs).Length)})");
            System.Console.WriteLine($"boots: {cmdline}");
            return CommandAction.Ok;
        });
        return cmd;
    }
}
