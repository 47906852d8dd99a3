using System.CommandLine;
using Circular.Boot.Guest;
using Circular.Cli.Console;

namespace Circular.Cli.Commands;

public static class NetrootCommand
{
    public static Command Create()
    {
        var newRoot = new Option<string>("--new-root") { Description = "Where to mount the image's root (with its writable layer)", DefaultValueFactory = _ => "/newroot" };
        var status = new Option<string>("--status") { Description = "Where to write 'ready' and 'init', or 'failed' with the reason", DefaultValueFactory = _ => "/run/circular" };
        var cmdline = new Option<string>("--cmdline") { Description = "The kernel command line to read", DefaultValueFactory = _ => "/proc/cmdline" };
        var notify = new Option<int?>("--notify-fd") { Description = "An inherited pipe to write 'ready' or 'failed' to once the status files are written (what /init blocks on)" };
        var cmd = new Command("netroot",
            "Run by the Circular initramfs's /init, inside the booting machine: load drivers, bring the network up, attach the image " +
            "version the kernel command line names (circular.url=, circular.image=, …) as /dev/nbd0, mount its root with a writable " +
            "layer, then serve it until power-off")
            { newRoot, status, cmdline, notify };
        CommandAction.Set(cmd, (pr, ct) => NetRoot.RunAsync(new NetRootOptions {
            NewRoot = pr.GetValue(newRoot)!,
            StatusDir = pr.GetValue(status)!,
            CommandLine = pr.GetValue(cmdline)!,
            NotifyFd = pr.GetValue(notify),
            SeedCredited = Program.RandomSeedCredited,
        }, ConsoleLog.Instance, ct));
        return cmd;
    }
}
