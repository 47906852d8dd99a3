using System.CommandLine;
using System.Globalization;
using System.Net;
using Circular.Cli.Boot;
using Circular.Cli.Composition;
using Circular.Cli.Demo;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Imaging.Images;
using Circular.Server.Hosting;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class DemoCommand
{
    public static Command Create()
    {
        var dir = new Option<string?>("--dir") { Description = "Work directory (default: a new temporary directory, removed afterwards)" };
        var keep = new Option<bool>("--keep") { Description = "Keep the work directory (archive, images, cache)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not show the guests' consoles" };
        var accel = new Option<string>("--accel") { Description = "kvm, tcg or auto", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("demo",
            "Build a small bootable Linux image, publish two versions, serve the archive over HTTP on loopback and boot " +
            "version 2 (cold cache), version 1 (roll back) and version 2 again (roll forward, warm cache) from the URL")
            { dir, keep, quiet, accel };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string work = pr.GetValue(dir) is { } d ? Path.GetFullPath(d) : Directory.CreateTempSubdirectory("circular-demo-").FullName;
            try
            {
                return await RunAsync(work, pr.GetValue(quiet), pr.GetValue(accel)!, ct);
            }
            finally
            {
                if (!pr.GetValue(keep) && pr.GetValue(dir) is null) try { Directory.Delete(work, recursive: true); } catch (IOException) { }
            }
        });
        return cmd;
    }

    private static void Say(string text) => System.Console.WriteLine($"demo: {text}");

    private static async Task<int> RunAsync(string work, bool quiet, string accel, CancellationToken ct)
    {
        Say($"building a bootable busybox image and a miniroot in {work}");
        var built = await DemoImageBuilder.BuildAsync(work, ct);

        string archive = Path.Combine(work, "archive");
        if (Directory.Exists(archive)) Directory.Delete(archive, recursive: true);
        await WritableArchive.InitAsync(archive, new ArchiveConfig { FormatVersion = ArchiveConfig.CurrentFormatVersion, Created = DateTimeOffset.UtcNow }, ct);
        var la = await WritableArchive.OpenAsync(archive, ct);
        var boot = new BootAssetFiles(built.Kernel, built.Miniroot, "console=ttyS0 root=/dev/vda init=/init quiet panic=-1");
        foreach (var (file, message) in new[] { (built.Version1, "first release"), (built.Version2, "release text changed") })
        {
            await using var img = LocalImageFile.Open(file);
            var r = await PushCommand.PushAsync(la, "demo-os", img, new PushCommand.PushSettings(ChunkSizes.Default, ChunkCodec.Zstd, 3, null, message, boot), ct);
            PushCommand.Report("demo-os", r);
        }

        await using var server = await ArchiveServer.StartAsync(archive, new ServerOptions(new IPEndPoint(IPAddress.Loopback, 0)), ct);
        string url = server.Addresses[0];
        Say($"serving the archive at {url} (catalog: {url}/)");
        string cache = Path.Combine(work, "cache");
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);

        var runs = new (string Title, string Spec, string Expect)[]
        {
            ("roll forward to v2, cold cache", "demo-os@2", "version=2"),
            ("roll back to v1", "demo-os@1", "version=1"),
            ("roll forward to v2, warm cache", "demo-os@2", "version=2"),
        };
        var reports = new List<(string Title, BootReport Report, bool Ok)>();
        foreach (var (title, spec, expect) in runs)
        {
            Say($"boot {spec} from {url} ({title})");
            var client = new ArchiveClientOptions { Location = url, CacheDirectory = cache, Log = Console.ConsoleLog.Instance };
            var req = new BootRequest(client, ImageSpec.Parse(spec)) {
                ReadyMarker = DemoImageBuilder.Marker,
                Accel = accel,
                Console = quiet ? Stream.Null : null,
            };
            var report = await BootRunner.RunAsync(req, ct);
            string line = report.ConsoleText.Split('\n').FirstOrDefault(l => l.Contains(DemoImageBuilder.Marker, StringComparison.Ordinal))?.Trim() ?? "";
            bool ok = report.Ready is not null && line.Contains(expect, StringComparison.Ordinal);
            reports.Add((title, report, ok));
            Say(ok ? $"guest says: {line[line.IndexOf(DemoImageBuilder.Marker, StringComparison.Ordinal)..]}"
                   : $"FAILED: no '{DemoImageBuilder.Marker} … {expect}' on the console (qemu exit {report.ExitCode})");
        }

        var inv = CultureInfo.InvariantCulture;
        System.Console.WriteLine();
        System.Console.WriteLine($"{"boot",-34} {"version",-10} {"ready",8} {"fetched",11} {"image",10} {"cache hits",11}");
        foreach (var (title, r, ok) in reports)
            System.Console.WriteLine(string.Create(inv,
                $"{title,-34} {r.Version,-10} {(r.Ready is { } t ? $"{t.TotalSeconds:0.0} s" : "-"),8} {ByteSize.Format(r.BytesFetched),11} {ByteSize.Format(r.ImageSize),10} {r.CacheHits,11}{(ok ? "" : "  FAILED")}"));
        System.Console.WriteLine($"accelerator: {reports[0].Report.Accel}; fetched = bytes over HTTP (disk blocks plus kernel and miniroot on a cold cache)");
        if (reports.Any(r => !r.Ok)) throw new CircularException("the demo failed: a guest did not reach its ready marker with the expected version");
        Say("done: every version booted from the archive over HTTP, rolled back and forward");
        return CommandAction.Ok;
    }
}
