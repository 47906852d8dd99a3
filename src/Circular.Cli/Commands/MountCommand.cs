using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Fuse;

namespace Circular.Cli.Commands;

public static class MountCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX, or the URL of a plain image (range mode)" };
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "Empty directory to mount on" };
        var writable = new Option<bool>("--writable") { Description = "Allow writes, kept in a copy-on-write overlay (publish with 'circular commit')" };
        var overlay = new Option<string?>("--overlay") { Description = "Overlay directory for --writable" };
        var allowOther = new Option<bool>("--allow-other") { Description = "Let other users see the files" };
        var client = new ClientOptions();
        var cmd = new Command("mount",
            "Mount a FUSE file system with NAME/VERSION.img, NAME/latest.img and NAME/TAG.img: loop-mountable image files. Ctrl-C or umount ends it")
            { source, mountPoint, writable, overlay, allowOther };
        client.AddTo(cmd);
        var measure = new MeasureOptions();
        measure.AddTo(cmd);
        var hot = new HotDataCliOptions();
        hot.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            bool write = pr.GetValue(writable);
            string? overlayRoot = NbdCommand.OverlayRoot(write, pr.GetValue(overlay), pr.GetValue(source)!);
            await using var log = await measure.OpenAsync(pr, ct);
            await using var src = await ImageSource.OpenAsync(client.Read(pr, pr.GetValue(source)!) with {
                OverlayRoot = overlayRoot,
                Measure = log,
                HotData = hot.Read(pr),
            }, ct);
            if (write && src.Client is null)
                throw new Core.Errors.UsageException($"{pr.GetValue(source)} is a plain image, which keeps no writes: --writable needs an archive ('circular import' makes one)");
            var options = new FuseMountOptions { Writable = write, AllowOther = pr.GetValue(allowOther), Log = ConsoleLog.Instance };
            await using var mount = await FuseMount.MountAsync(src.Catalog, pr.GetValue(mountPoint)!, options, ct);
            System.Console.WriteLine($"mounted on {mount.MountPoint}{(write ? $" (writable; overlays in {overlayRoot})" : " (read-only)")}; Ctrl-C or 'umount {mount.MountPoint}' to end");
            try { await mount.Completion.WaitAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            await mount.UnmountAsync();
            return CommandAction.Ok;
        });
        return cmd;
    }
}
