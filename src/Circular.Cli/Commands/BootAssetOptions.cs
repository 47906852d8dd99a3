using System.CommandLine;
using Circular.Core.Errors;

namespace Circular.Cli.Commands;

/// <summary>The --kernel/--initrd/--append options shared by push and boot.</summary>
public sealed class BootAssetOptions
{
    public Option<string?> Kernel { get; } = new("--kernel") { Description = "Linux kernel to store with (push) or boot instead of the stored one (boot)" };
    public Option<string?> Initrd { get; } = new("--initrd") { Description = "Initial ramdisk to go with --kernel (boot: 'circular' uses the small Circular initramfs instead of the image's own)" };
    public Option<string?> Append { get; } = new("--append") { Description = "Kernel command line, e.g. \"console=ttyS0 root=/dev/vda\"" };

    public static BootAssetOptions Create() => new();

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(Kernel);
        cmd.Options.Add(Initrd);
        cmd.Options.Add(Append);
    }

    public BootAssetFiles? Read(ParseResult pr)
    {
        string? k = pr.GetValue(Kernel), i = pr.GetValue(Initrd), a = pr.GetValue(Append);
        if (k is null && i is null && a is null) return null;
        if (k is null) throw new UsageException("--initrd and --append need --kernel");
        foreach (var f in new[] { k, i })
            if (f is not null && !File.Exists(f)) throw new NotFoundException($"boot asset {f} does not exist");
        return new BootAssetFiles(k, i, a);
    }
}

public sealed record BootAssetFiles(string? Kernel, string? Initrd, string? Append);
