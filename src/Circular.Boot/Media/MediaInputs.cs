using Circular.Boot.Initramfs;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Archive;

namespace Circular.Boot.Media;

/// <summary>What boot media are made of: a version's kernel from the archive, and a Circular initramfs for that kernel.</summary>
public sealed class MediaInputs : IDisposable
{
    private readonly string _work;

    private MediaInputs(string work, ResolvedVersion version, string kernel, string release, string initramfs)
    {
        _work = work;
        Version = version;
        Kernel = kernel;
        KernelRelease = release;
        Initramfs = initramfs;
    }

    public ResolvedVersion Version { get; }
    public string Kernel { get; }
    public string KernelRelease { get; }
    public string Initramfs { get; }

    /// <summary>
    /// Fetches the kernel stored with <paramref name="spec"/>'s version and builds the initramfs for it (modules from
    /// <paramref name="moduleTree"/>, else /lib/modules/RELEASE), unless one is given.
    /// </summary>
    public static async Task<MediaInputs> PrepareAsync(ArchiveClient client, ImageSpec spec, InitramfsOptions template,
        string? moduleTree, string? initramfs, CancellationToken ct)
    {
        var version = await client.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        var asset = version.Manifest.Metadata.Boot?.Kernel
            ?? throw new NotFoundException($"{version.Name} has no kernel stored with it: push it with --kernel FILE (the image's own kernel)");
        string work = Directory.CreateTempSubdirectory("circular-media-").FullName;
        try
        {
            string kernel = await BootAssetFiles.FetchAsync(asset, version.Manifest.AssetBlockSize, client.Chunks, Path.Combine(work, "vmlinuz"), ct).ConfigureAwait(false);
            string release = KernelImage.Release(kernel) ?? throw new ArchiveFormatException($"the kernel stored with {version.Name} is not an x86 Linux kernel (bzImage)");
            if (initramfs is null)
            {
                string tree = moduleTree ?? Path.Combine("/lib/modules", release);
                if (!Directory.Exists(tree))
                    throw new NotFoundException($"the kernel of {version.Name} is {release}, and /lib/modules/{release} is not here: apt-get install linux-image-{release}, or pass --modules DIR");
                initramfs = Path.Combine(work, "initramfs");
                using var file = File.Create(initramfs);
                InitramfsBuilder.Build(template with { ModuleTree = tree }, file);
            }
            return new MediaInputs(work, version, kernel, release, initramfs);
        }
        catch
        {
            Directory.Delete(work, recursive: true);
            throw;
        }
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);
}
