using System.CommandLine;
using System.Runtime.InteropServices;
using Circular.Cli.Commands;

namespace Circular.Cli;

public static class Program
{
    /// <summary>Whether this process began by crediting the seed disk's random seed (netroot in the initramfs only).</summary>
    public static bool RandomSeedCredited { get; private set; }

    public static async Task<int> Main(string[] args)
    {
#if GUEST
        // First of all, before anything hashes a string (the runtime's first hash reads /dev/urandom, which makes a
        // kernel whose pool is not initialised spin for a second): see Boot.Guest.RandomSeed.
        if (args.Length > 0 && args[0] == "netroot") RandomSeedCredited = global::Circular.Boot.Guest.RandomSeed.Credit();
#endif
        var root = new RootCommand(
            "Circular: bootable disk images as a content-addressed archive of static files, " +
            "read on demand over HTTP, exposed as NBD block devices and FUSE files.")
        {
            InitCommand.Create(),
            PushCommand.Create(),
            ImagesCommand.Create(),
            LogCommand.Create(),
            CatCommand.Create(),
            DiffCommand.Create(),
            TagCommand.Create(),
            DescribeCommand.Create(),
            RollbackCommand.Create(),
            VerifyCommand.Create(),
            GcCommand.Create(),
#if !GUEST
            MirrorCommand.Create(),
            MirrorsCommand.Create(),
            ServeCommand.Create(),
            CatalogCommand.Create(),
#endif
            ImportCommand.Create(),
            CommitCommand.Create(),
            NbdCommand.Create(),
            MountCommand.Create(),
            BootCommand.Create(),
#if !GUEST
            DemoCommand.Create(),
#endif
            KeyCommand.Create(),
            AttestCommand.Create(),
            ProfileCommand.Create(),
            OptimizeCommand.Create(),
            InitramfsCommand.Create(),
            NetrootCommand.Create(),
            IsoCommand.Create(),
            SeedCommand.Create(),
            KexecCommand.Create(),
            NetbootCommand.Create(),
            AttachCommand.Create(),
            // more commands register here
        };
        root.Options.Add(Composition.ArchiveStores.S3Endpoint);
        // One cancellation for SIGINT, SIGTERM and SIGHUP, so servers and mounts shut down cleanly (flush overlays,
        // unmount) whichever way they are stopped. A second signal while stopping falls back to the default: exit now.
        using var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext c)
        {
            if (stop.IsCancellationRequested) return;
            c.Cancel = true;
            stop.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        var config = new InvocationConfiguration { ProcessTerminationTimeout = null };
        // No response files: the booted client runs with argv[0] "@circular" (systemd spares such processes at
        // shutdown), which System.CommandLine would otherwise read as a response file to expand.
        var parse = new ParserConfiguration { ResponseFileTokenReplacer = null };
        return await root.Parse(args, parse).InvokeAsync(config, stop.Token).ConfigureAwait(false);
    }
}
