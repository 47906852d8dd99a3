using System.CommandLine;
using Circular.Cli.Boot;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Chunks;

namespace Circular.Cli.Commands;

public static class BootCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME (latest), NAME@VERSION or NAME@TAG" };
        var memory = new Option<string>("--memory") { Description = "Guest memory", DefaultValueFactory = _ => "512M" };
        var writable = new Option<bool>("--writable") { Description = "Keep the guest's writes in a copy-on-write overlay (publish with 'circular commit'); otherwise they are discarded at exit" };
        var overlay = new Option<string?>("--overlay") { Description = "Overlay directory for --writable" };
        var accel = new Option<string>("--accel") { Description = "kvm, tcg, or auto (KVM when a probe guest runs under it, else TCG)", DefaultValueFactory = _ => "auto" };
        var marker = new Option<string?>("--ready-marker") { Description = "Console text that means the guest is ready: its time is reported" };
        var extra = new Argument<string[]>("QEMU-ARGS") { Description = "Extra qemu-system-x86_64 arguments, after --", Arity = ArgumentArity.ZeroOrMore };
        var boot = BootAssetOptions.Create();
        var client = new ClientOptions();
        var cmd = new Command("boot",
            "Boot an image version in QEMU with its disk served on demand by Circular's NBD front end (/dev/vda in a Linux guest). " +
            "The kernel, initrd and command line stored with the version are used unless given here; without any, the disk's own boot loader starts (BIOS). " +
            "The guest's serial console is this terminal.")
            { source, spec, memory, writable, overlay, accel, marker, extra };
        boot.AddTo(cmd);
        client.AddTo(cmd);
        var measure = new MeasureOptions();
        measure.AddTo(cmd);
        var hot = new HotDataCliOptions();
        hot.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var s = ImageSpec.Parse(pr.GetValue(spec)!);
            bool write = pr.GetValue(writable);
            string a = pr.GetValue(accel)!;
            if (a is not ("auto" or "kvm" or "tcg")) throw new Core.Errors.UsageException($"--accel '{a}': choose kvm, tcg or auto");
            await using var log = await measure.OpenAsync(pr, ct);
            var options = client.Read(pr, pr.GetValue(source)!) with {
                OverlayRoot = NbdCommand.OverlayRoot(write, pr.GetValue(overlay), pr.GetValue(source)!),
                Measure = log,
                HotData = hot.Read(pr),
            };
            var req = new BootRequest(options, s) {
                Memory = pr.GetValue(memory)!,
                Writable = write,
                Kernel = pr.GetValue(boot.Kernel),
                Initrd = pr.GetValue(boot.Initrd),
                Append = pr.GetValue(boot.Append),
                Accel = a,
                ExtraArgs = pr.GetValue(extra) ?? [],
                ReadyMarker = pr.GetValue(marker),
            };
            var r = await BootRunner.RunAsync(req, ct);
            System.Console.Error.WriteLine();
            System.Console.Error.WriteLine($"circular: booted {r.Version} ({r.Accel}): qemu exited {r.ExitCode} after {r.Elapsed.TotalSeconds:0.0} s" +
                (r.Ready is { } t ? $", ready after {t.TotalSeconds:0.0} s" : ""));
            System.Console.Error.WriteLine($"circular: fetched {ByteSize.Format(r.BytesFetched)} in {r.Requests} requests for a {ByteSize.Format(r.ImageSize)} image; cache {r.CacheHits} hits, {r.CacheMisses} misses");
            return r.ExitCode == 0 ? CommandAction.Ok : CommandAction.Failed;
        });
        return cmd;
    }
}
