using System.Security.Cryptography;
using Circular.Boot.Initramfs;
using Circular.Boot.Media;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Refs;
using Circular.Storage.Posix;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Netboot;

/// <summary>What `circular netboot` wrote.</summary>
public sealed record NetbootReport(IReadOnlyList<string> Scripts, IReadOnlyList<string> Files, IReadOnlyList<string> Skipped);

/// <summary>
/// Writes into a local archive what network boot needs, as static files any web server serves: an iPXE script per version,
/// for latest and per tag (boot/NAME/SELECTOR.ipxe), each version's kernel (boot/kernels/) and a Circular initramfs per
/// kernel release (boot/initramfs/). Any iPXE then boots a version with `chain http://HOST/ARCHIVE/boot/NAME/latest.ipxe`.
/// </summary>
public static class NetbootWriter
{
    /// <param name="urls">The archive's URL as booted machines reach it, then mirrors.</param>
    public static async Task<NetbootReport> WriteAsync(ArchiveClient client, string root, string image, IReadOnlyList<string> urls,
        InitramfsOptions template, IReadOnlyList<string> trustKeyIds, string? append, ILogger log, CancellationToken ct, bool isos = false)
    {
        var refs = await client.Reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        var scripts = new List<string>();
        var files = new List<string>();
        var skipped = new List<string>();
        var initramfsByRelease = new Dictionary<string, string>(StringComparer.Ordinal);
        (string Kernel, string Initramfs)? latest = null;
        var selectors = refs.Versions.Select(v => (Selector: v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), v))
            .Append(("latest", refs.Find(refs.Latest)!))
            .Concat(refs.Tags.Select(t => (Selector: t.Key, refs.Find(t.Value)!)));
        foreach (var (selector, entry) in selectors)
        {
            var version = await client.OpenVersionAsync(new ImageSpec(image, entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            if (version.Manifest.Metadata.Boot?.Kernel is not { } kernelRef)
            {
                if (selector == entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)) skipped.Add($"{version.Name} (no kernel stored with it)");
                continue;
            }
            string kernelPath = NetbootLayout.Kernel(kernelRef);
            string kernelFile = Path.Combine(root, kernelPath);
            string work = Directory.CreateTempSubdirectory("circular-netboot-").FullName;
            try
            {
                string fetched = await BootAssetFiles.FetchAsync(kernelRef, version.Manifest.AssetBlockSize, client.Chunks, Path.Combine(work, "vmlinuz"), ct).ConfigureAwait(false);
                string release = KernelImage.Release(fetched) ?? throw new Core.Errors.ArchiveFormatException($"the kernel of {version.Name} is not an x86 Linux kernel");
                if (!File.Exists(kernelFile))
                {
                    AtomicFile.Write(kernelFile, await File.ReadAllBytesAsync(fetched, ct).ConfigureAwait(false), durable: true);
                    files.Add(kernelPath);
                }
                if (!initramfsByRelease.TryGetValue(release, out string? initramfsPath))
                {
                    string tree = Path.Combine("/lib/modules", release);
                    if (!Directory.Exists(Path.Combine(template.ModuleTree.Length > 0 ? template.ModuleTree : tree)))
                        throw new Core.Errors.NotFoundException($"the kernel of {version.Name} is {release}, and /lib/modules/{release} is not here: apt-get install linux-image-{release}, or pass --modules DIR");
                    using var ms = new MemoryStream();
                    InitramfsBuilder.Build(template with { ModuleTree = template.ModuleTree.Length > 0 ? template.ModuleTree : tree }, ms);
                    byte[] bytes = ms.ToArray();
                    initramfsPath = NetbootLayout.Initramfs($"{release}-{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}.img");
                    string file = Path.Combine(root, initramfsPath);
                    if (!File.Exists(file))
                    {
                        AtomicFile.Write(file, bytes, durable: true);
                        files.Add(initramfsPath);
                    }
                    initramfsByRelease[release] = initramfsPath;
                }
                if (selector == "latest") latest = (kernelPath, initramfsPath);
                string commandLine = CommandLine.For(urls, new ImageSpec(image, entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), trustKeyIds, append);
                string script = NetbootLayout.Script(image, selector);
                string text = IpxeScript.For($"Circular: {version.Name} ({selector}) from {urls[0]}",
                    NetbootLayout.FromScript(kernelPath), NetbootLayout.FromScript(initramfsPath), commandLine);
                AtomicFile.Write(Path.Combine(root, script), System.Text.Encoding.UTF8.GetBytes(text), durable: true);
                scripts.Add(script);
                log.LogDebug("wrote {Script}", script);
                if (isos && selector == entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    // One ISO per version (not per tag: a tag's ISO would be a copy): the catalog links it for download.
                    string iso = NetbootLayout.Iso(image, selector);
                    string isoFile = Path.Combine(root, iso), partial = isoFile + ".partial";
                    await BootIso.WriteAsync(partial, fetched, Path.Combine(root, initramfsPath),
                        [new BootEntry($"Circular: {version.Name} from {urls[0]}", commandLine)], ct).ConfigureAwait(false);
                    File.Move(partial, isoFile, overwrite: true);
                    files.Add(iso);
                }
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        }
        if (latest is { } menu)
        {
            // The universal medium over iPXE: the latest version's kernel starts the initramfs's menu of every image.
            string words = $"console=tty0 console=ttyS0,115200 circular.url={string.Join(',', urls.Select(u => u.TrimEnd('/')))} circular.menu-timeout=10 retain_initrd" +
                (trustKeyIds.Count > 0 ? $" circular.trust={string.Join(',', trustKeyIds)}" : "") + (string.IsNullOrWhiteSpace(append) ? "" : " " + append.Trim());
            string text = IpxeScript.For($"Circular: boot menu of {urls[0]}", NetbootLayout.FromMenu(menu.Kernel), NetbootLayout.FromMenu(menu.Initramfs), words);
            AtomicFile.Write(Path.Combine(root, NetbootLayout.MenuScript), System.Text.Encoding.UTF8.GetBytes(text), durable: true);
            scripts.Add(NetbootLayout.MenuScript);
        }
        return new NetbootReport(scripts, files, skipped);
    }
}
