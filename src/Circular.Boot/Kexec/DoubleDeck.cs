using Circular.Boot.Media;
using Circular.Client;
using Circular.Core.Errors;
using Circular.Storage.Archive;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Kexec;

/// <summary>
/// The seed's double-deck boot: a version's own kernel (and initrd), fetched verified from the archive, loaded with
/// kexec together with the Circular initramfs and a command line that names the version, so the new kernel attaches
/// that version's root exactly as InetBoot does.
/// </summary>
public static class DoubleDeck
{
    /// <summary>
    /// Fetches the kernel and initrd of <paramref name="version"/> into <paramref name="work"/>, puts
    /// <paramref name="circularInitramfs"/> after the version's initrd (the kernel unpacks concatenated archives in
    /// order, so the Circular /init wins) and loads them with <paramref name="cmdline"/>.
    /// </summary>
    /// <param name="circularInitramfs">Makes (or finds) the Circular initramfs for the kernel release it is given.</param>
    /// <param name="needsOwnInitrd">Whether the version's stored initrd must come along for a kernel of the given release.</param>
    /// <param name="fetchedKernel">The version's kernel when already fetched (<see cref="FetchKernelAsync"/>), else null.</param>
    public static async Task LoadAsync(ArchiveClient client, ResolvedVersion version, Func<string, CancellationToken, Task<string>> circularInitramfs,
        Func<string, bool> needsOwnInitrd, string cmdline, string work, ILogger log, CancellationToken ct, string? fetchedKernel = null)
    {
        var boot = version.Manifest.Metadata.Boot;
        Directory.CreateDirectory(work);
        int cs = version.Manifest.AssetBlockSize;
        string kernel = fetchedKernel ?? await FetchKernelAsync(client, version, Path.Combine(work, "vmlinuz"), ct).ConfigureAwait(false);
        if (KernelImage.Release(kernel) is not { } release)
            throw new ArchiveFormatException($"the kernel stored with {version.Name} is not an x86 Linux kernel (bzImage)");
        // The version's own initrd matters only for its drivers: when the Circular initramfs has modules for this kernel
        // release, fetching (often 30 MB) and unpacking it would only cost time.
        string own = boot!.Initrd is { } rd && needsOwnInitrd(release)
            ? await BootAssetFiles.FetchAsync(rd, cs, client.Chunks, Path.Combine(work, "initrd.own"), ct).ConfigureAwait(false)
            : "";
        string circular = await circularInitramfs(release, ct).ConfigureAwait(false);
        string initrd = circular;
        if (own.Length > 0)
        {
            initrd = Path.Combine(work, "initrd.joined");
            await using var joined = File.Create(initrd);
            foreach (string part in new[] { own, circular })
            {
                await using var input = File.OpenRead(part);
                await input.CopyToAsync(joined, ct).ConfigureAwait(false);
                // cpio archives are concatenated on 4-byte boundaries.
                while (joined.Length % 4 != 0) joined.WriteByte(0);
            }
        }
        KexecLoader.Load(kernel, initrd, cmdline);
        log.LogInformation("loaded {Version}'s kernel {Release} ({Size}) with the Circular initramfs", version.Name, release,
            Core.Chunks.ByteSize.Format(new FileInfo(kernel).Length));
    }

    /// <summary>Fetches the kernel stored with <paramref name="version"/> (verified) to <paramref name="path"/>.</summary>
    public static Task<string> FetchKernelAsync(ArchiveClient client, ResolvedVersion version, string path, CancellationToken ct)
    {
        var kernelAsset = version.Manifest.Metadata.Boot?.Kernel
            ?? throw new NotFoundException($"{version.Name} has no kernel stored with it: it cannot be booted this way (push it with --kernel FILE)");
        return BootAssetFiles.FetchAsync(kernelAsset, version.Manifest.AssetBlockSize, client.Chunks, path, ct);
    }

    /// <summary>
    /// The next kernel's command line: the version's own stored words (its root= dropped: the Circular initramfs finds
    /// the root), the console and client settings of <paramref name="current"/>, and the version to boot.
    /// </summary>
    public static string CommandLine(ResolvedVersion version, string current, IReadOnlyList<string>? defaults = null)
    {
        string[] carried = ["console=", "circular.url=", "circular.trust=", "circular.timeout=", "circular.cache=", "circular.memory=",
            "circular.overlay=", "circular.root=", "ip=", "init=", "circular.init="];
        var words = new List<string>();
        foreach (string w in (version.Manifest.Metadata.Boot?.Append ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (!w.StartsWith("root=", StringComparison.Ordinal) && !w.StartsWith("circular.", StringComparison.Ordinal)) words.Add(w);
        var kept = current.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => carried.Any(c => w.StartsWith(c, StringComparison.Ordinal))).ToList();
        if (defaults is not null) kept.AddRange(defaults.Where(d => !kept.Any(k => k.Split('=')[0] == d.Split('=')[0])));
        words.AddRange(kept);
        words.Add($"circular.image={version.Name}");
        return string.Join(' ', words);
    }
}
