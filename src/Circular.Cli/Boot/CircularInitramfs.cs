using System.Security.Cryptography;
using System.Text;
using Circular.Boot.Initramfs;
using Circular.Boot.Media;
using Circular.Cli.Commands;
using Circular.Core.Errors;

namespace Circular.Cli.Boot;

/// <summary>
/// The Circular initramfs `boot --initrd circular` gives a kernel: built for the kernel's release from this machine's
/// module tree, once, and kept in the client cache (initramfs/) for the next boot.
/// </summary>
public static class CircularInitramfs
{
    public static Task<string> ForKernelAsync(string kernel, string? cacheDir, CancellationToken ct) =>
        ForReleaseAsync(KernelImage.Release(kernel) ?? throw new UsageException($"{kernel} is not an x86 Linux kernel (bzImage)"), cacheDir, ct);

    /// <summary>The Circular initramfs for kernel <paramref name="release"/> (its modules from /lib/modules/RELEASE), built once and kept.</summary>
    public static async Task<string> ForReleaseAsync(string release, string? cacheDir, CancellationToken ct)
    {
        string tree = Path.Combine("/lib/modules", release);
        if (!Directory.Exists(tree)) throw new NotFoundException($"the Circular initramfs for kernel {release} needs its modules (/lib/modules/{release}): apt-get install linux-image-{release}");
        string guest = InitramfsCommand.GuestExecutable();
        // Named by what it is built from: a new circular or a reinstalled kernel gives a new one.
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{release}\n{new FileInfo(guest).Length}\n{File.GetLastWriteTimeUtc(guest):O}\n{File.GetLastWriteTimeUtc(Path.Combine(tree, "modules.dep")):O}")))[..16];
        string dir = cacheDir is null ? Path.Combine(Path.GetTempPath(), "circular-initramfs") : Path.Combine(cacheDir, "initramfs");
        string file = Path.Combine(dir, $"{release}-{key}.img");
        if (File.Exists(file)) return file;
        Directory.CreateDirectory(dir);
        string tmp = file + $".tmp-{Environment.ProcessId}";
        await Task.Run(() =>
        {
            using var output = File.Create(tmp);
            InitramfsBuilder.Build(new InitramfsOptions { ModuleTree = tree, Circular = guest }, output);
        }, ct).ConfigureAwait(false);
        File.Move(tmp, file, overwrite: true);
        return file;
    }
}
