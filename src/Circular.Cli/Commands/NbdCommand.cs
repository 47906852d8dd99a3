using System.CommandLine;
using System.Net;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Errors;
using Circular.Nbd;

namespace Circular.Cli.Commands;

public static class NbdCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX, or the URL of a plain image (range mode)" };
        var listen = new Option<string?>("--listen") { Description = "HOST:PORT to listen on (default 127.0.0.1:10809)" };
        var socket = new Option<string?>("--socket") { Description = "Listen on a Unix socket instead (nbd+unix:///NAME?socket=PATH)" };
        var writable = new Option<bool>("--writable") { Description = "Accept writes, kept in a copy-on-write overlay (never in the archive)" };
        var overlay = new Option<string?>("--overlay") { Description = "Overlay directory for --writable (one subdirectory per image; publish with 'circular commit')" };
        var client = new ClientOptions();
        var cmd = new Command("nbd",
            "Serve every image version as an NBD export: NAME (latest), NAME@VERSION, NAME@TAG. For qemu, qemu-img, nbdinfo, nbdcopy, nbd-client")
            { source, listen, socket, writable, overlay };
        client.AddTo(cmd);
        var measure = new MeasureOptions();
        measure.AddTo(cmd);
        var hot = new HotDataCliOptions();
        hot.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            Composition.SocketCompletions.ForLocalNbd(pr.GetValue(source)!);
            if (pr.GetValue(listen) is not null && pr.GetValue(socket) is not null) throw new UsageException("give --listen or --socket, not both");
            EndPoint endpoint = pr.GetValue(socket) is { } path ? NbdEndPoints.Unix(path)
                : NbdEndPoints.ParseListen(pr.GetValue(listen) ?? $"127.0.0.1:{NbdEndPoints.DefaultPort}");
            bool write = pr.GetValue(writable);
            string? overlayRoot = OverlayRoot(write, pr.GetValue(overlay), pr.GetValue(source)!);
            await using var log = await measure.OpenAsync(pr, ct);
            await using var src = await ImageSource.OpenAsync(client.Read(pr, pr.GetValue(source)!) with {
                OverlayRoot = overlayRoot,
                Measure = log,
                HotData = hot.Read(pr),
            }, ct);
            if (write && src.Client is null)
                throw new Core.Errors.UsageException($"{pr.GetValue(source)} is a plain image, which keeps no writes: --writable needs an archive ('circular import' makes one)");
            var server = new NbdServer(src.Catalog, new NbdServerOptions { Writable = write, Log = ConsoleLog.Instance });
            var serving = server.ServeAsync(endpoint, ct);
            var bound = await Task.WhenAny(server.Listening, serving);
            if (bound == serving) await serving; // failed to bind: surface the error
            var exports = await src.Catalog.ListAsync(ct);
            System.Console.WriteLine($"serving {exports.Count} NBD exports on {await server.Listening}{(write ? $" (writable; overlays in {overlayRoot})" : " (read-only)")}");
            foreach (var e in exports.Take(20)) System.Console.WriteLine($"  {e.Name}");
            if (exports.Count > 20) System.Console.WriteLine($"  … and {exports.Count - 20} more (nbdinfo --list)");
            try { await serving; }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            return CommandAction.Ok;
        });
        return cmd;
    }

    /// <summary>Where writable exports keep their overlays: --overlay, else a directory in the user's data dir.</summary>
    public static string? OverlayRoot(bool writable, string? given, string source)
    {
        if (!writable)
        {
            if (given is not null) throw new UsageException("--overlay needs --writable");
            return null;
        }
        if (given is not null) return Path.GetFullPath(given);
        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        string data = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        string key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            ArchiveLocation.IsRemote(source) ? source : Path.GetFullPath(source))))[..16];
        return Path.Combine(data, "circular", "overlays", key);
    }
}
