using System.CommandLine;
using Circular.Boot.Initramfs;
using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Cli.Commands;

public static class InitramfsCommand
{
    public static Command Create()
    {
        var output = new Argument<string>("OUT") { Description = "The initramfs file to write" };
        var kernelVersion = new Option<string?>("--kernel-version") { Description = "Take modules from /lib/modules/VER (default: the newest tree installed)" };
        var modules = new Option<string?>("--modules") { Description = "Take modules from this module tree instead (a …/lib/modules/VER directory)" };
        var trust = new Option<string[]>("--trust") { Description = "Carry this public key (KEY.pub; repeatable): the booted client then accepts only archives signed by the keys it carries (or those circular.trust= names)", AllowMultipleArgumentsPerToken = false };
        var compress = new Option<string>("--compress") { Description = "zstd (small, quick to unpack), xz (smallest; needs xz-utils) or gzip", DefaultValueFactory = _ => "zstd" };
        var busybox = new Option<string>("--busybox") { Description = "A statically linked busybox to carry", DefaultValueFactory = _ => "/bin/busybox" };
        var cmd = new Command("initramfs",
            "Build the Circular boot initramfs: boots any machine from an archive over the network (the kernel command line names " +
            "the archive and image: circular.url=URL circular.image=NAME[@VERSION]; see the README, \"Booting machines from the network\")")
            { output, kernelVersion, modules, trust, compress, busybox };
        CommandAction.Set(cmd, (pr, ct) =>
        {
            string tree = ModuleTree(pr.GetValue(kernelVersion), pr.GetValue(modules));
            string compression = pr.GetValue(compress)!;
            if (compression is not ("zstd" or "xz" or "gzip")) throw new UsageException($"--compress '{compression}': choose zstd, xz or gzip");
            var options = new InitramfsOptions {
                ModuleTree = tree,
                Circular = GuestExecutable(),
                Busybox = pr.GetValue(busybox)!,
                TrustKeys = pr.GetValue(trust) ?? [],
                Compression = compression,
            };
            string path = pr.GetValue(output)!;
            string tmp = path + $".partial-{Environment.ProcessId}";
            try
            {
                InitramfsReport report;
                using (var file = File.Create(tmp)) report = InitramfsBuilder.Build(options, file);
                File.Move(tmp, path, overwrite: true);
                if (report.MissingModules.Count > 0)
                    System.Console.Error.WriteLine($"circular: warning: kernel {report.KernelVersion} has no modules {string.Join(", ", report.MissingModules)}; left out");
                System.Console.WriteLine($"wrote {path}: {ByteSize.Format(report.Compressed)} ({compression}; {ByteSize.Format(report.Unpacked)} unpacked), kernel {report.KernelVersion}, {report.Modules} modules");
            }
            finally
            {
                File.Delete(tmp);
            }
            return Task.FromResult(CommandAction.Ok);
        });
        return cmd;
    }

    /// <summary>The module tree: --modules, else /lib/modules/--kernel-version, else the newest installed.</summary>
    public static string ModuleTree(string? version, string? dir)
    {
        if (version is not null && dir is not null) throw new UsageException("give --kernel-version or --modules, not both");
        if (dir is not null) return Path.GetFullPath(dir);
        if (version is not null)
        {
            string tree = Path.Combine("/lib/modules", version);
            return Directory.Exists(tree) ? tree
                : throw new NotFoundException($"no modules for kernel {version} in /lib/modules: apt-get install linux-image-{version}, or pass --modules DIR");
        }
        var trees = Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules").Where(d => File.Exists(Path.Combine(d, "modules.dep"))).Order(StringComparer.Ordinal).ToList() : [];
        return trees.Count > 0 ? trees[^1]
            : throw new NotFoundException("no kernel module tree in /lib/modules: apt-get install linux-image-amd64, or pass --modules DIR");
    }

    /// <summary>
    /// The `circular` the initramfs carries: the in-guest build beside this one (scripts/build.sh writes it to guest/),
    /// else this very executable. A JIT run (dotnet circular.dll) has no executable to carry.
    /// </summary>
    public static string GuestExecutable()
    {
        string self = Environment.ProcessPath ?? throw new CircularException("cannot tell where this circular executable is");
        string guest = Path.Combine(Path.GetDirectoryName(self)!, "guest", "circular");
        if (File.Exists(guest)) return guest;
        if (Path.GetFileName(self) != "circular")
            throw new UsageException("the initramfs carries the native circular: build it with scripts/build.sh and run out/circular");
        return self;
    }
}
