using System.CommandLine;
using Circular.Boot.Kexec;
using Circular.Cli.Boot;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Signing;

namespace Circular.Cli.Commands;

public static class KexecCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive URL (or directory, with --url)" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME (latest), NAME@VERSION or NAME@TAG" };
        var url = new Option<string?>("--url") { Description = "The archive's URL as the new kernel reaches it (default: SOURCE, when it is a URL)" };
        var loadOnly = new Option<bool>("--load-only") { Description = "Load the kernel but do not start it (start it later with 'kexec -e' or 'systemctl kexec')" };
        var append = new Option<string?>("--append") { Description = "More kernel command-line words for the new kernel" };
        var client = new ClientOptions(readMirrors: false);
        var cmd = new Command("kexec",
            "Start a version's own kernel from this running Linux (the seed's kboot): fetch it from the archive, verified, load it with the " +
            "Circular initramfs and a command line naming the version (kexec_file_load), then reboot into it at once unless --load-only. Needs root")
            { source, spec, url, loadOnly, append };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string src = pr.GetValue(source)!;
            string bootUrl = pr.GetValue(url) ?? (ArchiveLocation.IsUrl(src) ? src
                : throw new UsageException("--url URL: SOURCE is a local directory; give the archive's URL as the new kernel will reach it"));
            if (!ArchiveLocation.IsUrl(bootUrl)) throw new UsageException($"--url '{bootUrl}' is not an http(s) URL");
            var image = ImageSpec.Parse(pr.GetValue(spec)!);
            var read = client.Read(pr, src);
            await using var archive = await ArchiveClient.OpenAsync(read, ct);
            var version = await archive.OpenVersionAsync(image, ct);
            var ids = (pr.GetValue(client.Trust) ?? []).Select(k => VerifyingKey.Load(k).Id).ToList();
            var defaults = new List<string> { "console=tty0", "console=ttyS0,115200", $"circular.url={bootUrl.TrimEnd('/')}" };
            if (ids.Count > 0) defaults.Add($"circular.trust={string.Join(',', ids)}");
            string current = File.Exists("/proc/cmdline") ? await File.ReadAllTextAsync("/proc/cmdline", ct) : "";
            // This machine's own circular.url (a machine started by a Circular medium) names the archive as it sees it.
            current = string.Join(' ', current.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("circular.url=", StringComparison.Ordinal)));
            string cmdline = DoubleDeck.CommandLine(version, current, defaults);
            if (!string.IsNullOrWhiteSpace(pr.GetValue(append))) cmdline += " " + pr.GetValue(append)!.Trim();
            string work = Directory.CreateTempSubdirectory("circular-kexec-").FullName;
            try
            {
                // Inside the Circular initramfs the running one goes along; elsewhere one is built for the new kernel's release.
                await DoubleDeck.LoadAsync(archive, version, async (release, token) => RunningInitramfs.IsRunning()
                    ? RunningInitramfs.WriteTo("/", work)
                    : await CircularInitramfs.ForReleaseAsync(release, read.CacheDirectory, token),
                    release => RunningInitramfs.IsRunning() && !Directory.Exists(Path.Combine("/lib/modules", release)), cmdline, work, ConsoleLog.Instance, ct);
            }
            finally { Directory.Delete(work, recursive: true); }
            System.Console.WriteLine($"loaded {version.Name}: {cmdline}");
            if (pr.GetValue(loadOnly)) return CommandAction.Ok;
            System.Console.WriteLine("starting it now");
            System.Console.Out.Flush();
            KexecLoader.Execute();
            return CommandAction.Ok;
        });
        return cmd;
    }
}
