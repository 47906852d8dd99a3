using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Nbd;
using Circular.Nbd.Kernel;

namespace Circular.Cli.Commands;

public static class AttachCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME (latest), NAME@VERSION or NAME@TAG" };
        var device = new Option<string>("--device") { Description = "The NBD device to attach to (modprobe nbd first)", DefaultValueFactory = _ => "/dev/nbd0" };
        var patience = new Option<double>("--wait") { Description = "Seconds reads wait through a network outage before failing with EIO", DefaultValueFactory = _ => 0 };
        var client = new ClientOptions();
        var cmd = new Command("attach",
            "Attach a version as a read-only Linux block device through the kernel's NBD driver (like nbd-client, with Circular's server in this " +
            "process): blocks are fetched on demand, verified and cached. Runs until Ctrl-C, which detaches (unmount first)")
            { source, spec, device, patience };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var image = ImageSpec.Parse(pr.GetValue(spec)!);
            double wait = pr.GetValue(patience);
            if (wait < 0) throw new Core.Errors.UsageException("--wait must not be negative");
            await using var archive = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(source)!) with { Patience = TimeSpan.FromSeconds(wait) }, ct);
            var version = await archive.OpenVersionAsync(image, ct);
            var blocks = await archive.Catalog.OpenAsync(version.Name, writable: false, ct);
            await using var attached = await KernelNbdDevice.AttachAsync(pr.GetValue(device)!, version.Name, blocks, new NbdServerOptions { Log = ConsoleLog.Instance }, ct);
            System.Console.WriteLine($"{version.Name} ({ByteSize.Format(version.Manifest.ImageSize)}) attached as {attached.Device}; Ctrl-C detaches");
            try { await attached.Ended.WaitAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            return CommandAction.Ok;
        });
        return cmd;
    }
}
