using System.Text;
using System.Text.Json;
using Circular.Core.Errors;
using Circular.Storage.Posix;

namespace Circular.Server.Catalog;

/// <summary>Settings a static catalog keeps for its next rewrite (catalog.json at the archive root).</summary>
public sealed record StaticCatalogSettings
{
    public string Format { get; init; } = "circular-catalog";
    public int FormatVersion { get; init; } = 1;
    /// <summary>The archive's public URL for the command lines; null: the page's own location fills them in.</summary>
    public string? Url { get; init; }
}

/// <summary>What writing a static catalog did.</summary>
public sealed record StaticCatalogResult(int Images, int Pages, int Written, int Removed);

/// <summary>
/// Writes the catalog as plain files into a local archive (docs/catalog.md): index.html, catalog/NAME/*.html and
/// api/*.json, so nginx, S3 or a CDN shows it with no program running. Files are replaced atomically and only when
/// their content changes (a CDN keeps what did not change); pages no longer produced are removed. Facts about versions
/// already listed are taken from the previous JSON, so a rewrite after a publish reads only the new versions' manifests.
/// </summary>
public static class StaticCatalog
{
    /// <summary>At the root: under catalog/ it could collide with an image's directory (image names may contain dots).</summary>
    public const string SettingsPath = "catalog.json";

    /// <summary>Whether the archive has a static catalog (publishing commands then keep it current).</summary>
    public static bool Exists(string root) => File.Exists(Path.Combine(root, SettingsPath));

    public static StaticCatalogSettings? ReadSettings(string root)
    {
        string file = Path.Combine(root, SettingsPath);
        if (!File.Exists(file)) return null;
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(file), CatalogJson.Default.StaticCatalogSettings)
                ?? throw new JsonException("it is null");
        }
        catch (JsonException e) { throw new ArchiveFormatException($"{file} is corrupt: {e.Message} (delete it and run 'circular catalog' again)"); }
    }

    public static async Task<StaticCatalogResult> WriteAsync(string root, CatalogReader catalog, StaticCatalogSettings settings, CancellationToken ct)
    {
        // Two publishes finishing together rewrite it one after the other: one run's clean-up must never remove the
        // pages of an image the other run just added. The lock lives with the archive's other writer locks (never served).
        Directory.CreateDirectory(Path.Combine(root, ".locks"));
        using var exclusive = await FileLock.AcquireAsync(Path.Combine(root, ".locks", "catalog"), exclusive: true, ct).ConfigureAwait(false);
        var site = new CatalogSite(settings.Url, (name, version) => ExistingDownloads(root, name, version));
        var expected = new HashSet<string>(StringComparer.Ordinal);
        int written = 0, pages = 0;
        void Put(string rel, byte[] content)
        {
            expected.Add(rel);
            if (WriteIfChanged(Path.Combine(root, rel), content)) written++;
        }

        var images = await catalog.ImagesAsync(ct).ConfigureAwait(false);
        foreach (var img in images)
        {
            RememberPrevious(root, catalog, img.Name);
            await foreach (var detail in catalog.PagesAsync(img.Name, CatalogReader.DefaultPageSize, ct).ConfigureAwait(false))
            {
                int page = detail.Versions.Page;
                Put(CatalogPaths.ImagePage(img.Name, page), Encoding.UTF8.GetBytes(CatalogHtml.Image(detail, site)));
                Put(CatalogPaths.VersionsJson(img.Name, page), JsonSerializer.SerializeToUtf8Bytes(detail.Versions, CatalogJson.Default.CatalogVersionPage));
                if (page == 1) Put(CatalogPaths.ImageJson(img.Name), JsonSerializer.SerializeToUtf8Bytes(detail, CatalogJson.Default.CatalogImageDetail));
                pages++;
            }
        }
        Put(CatalogPaths.ImagesJson, JsonSerializer.SerializeToUtf8Bytes(images, CatalogJson.Default.ListCatalogImage));
        Put(CatalogPaths.Index, Encoding.UTF8.GetBytes(CatalogHtml.Index(images, site)));
        Put(SettingsPath, JsonSerializer.SerializeToUtf8Bytes(settings, CatalogJson.Default.StaticCatalogSettings));
        int removed = RemoveStale(root, expected);
        return new StaticCatalogResult(images.Count, pages + 1, written, removed);
    }

    /// <summary>Boot media written next to the version's iPXE script (by `circular netboot --iso`, or `circular seed -o` into boot/).</summary>
    public static IReadOnlyList<CatalogDownload> ExistingDownloads(string root, string name, int version)
    {
        var list = new List<CatalogDownload>();
        string v = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (File.Exists(Path.Combine(root, CatalogPaths.Iso(name, v)))) list.Add(new CatalogDownload("Boot ISO (CD or USB stick, BIOS and UEFI)", CatalogPaths.Iso(name, v)));
        foreach (var (ext, label) in SeedFormats)
            if (File.Exists(Path.Combine(root, CatalogPaths.Seed(name, v, ext)))) list.Add(new CatalogDownload(label, CatalogPaths.Seed(name, v, ext)));
        return list;
    }

    /// <summary>Seed disk formats the catalog links, by file extension.</summary>
    public static readonly (string Extension, string Label)[] SeedFormats =
    [
        ("qcow2", "Seed disk, qcow2 (QEMU/KVM, Proxmox)"),
        ("vmdk", "Seed disk, vmdk (VMware, VirtualBox)"),
        ("vdi", "Seed disk, vdi (VirtualBox)"),
        ("vhdx", "Seed disk, vhdx (Hyper-V)"),
        ("vhd", "Seed disk, vhd (Virtual PC, Azure)"),
        ("img", "Seed disk, raw (any hypervisor, dd to a USB disk)"),
    ];

    private static void RememberPrevious(string root, CatalogReader catalog, string name)
    {
        string dir = Path.Combine(root, CatalogPaths.ApiDir, "images", name);
        if (!Directory.Exists(dir)) return;
        foreach (var file in Directory.EnumerateFiles(dir, "versions-*.json"))
        {
            try
            {
                var page = JsonSerializer.Deserialize(File.ReadAllBytes(file), CatalogJson.Default.CatalogVersionPage);
                foreach (var v in page?.Versions ?? []) if (v?.Manifest is not null) catalog.Remember(name, v);
            }
            catch (JsonException) { } // an unreadable old page only costs recomputing its facts
        }
    }

    private static bool WriteIfChanged(string path, byte[] content)
    {
        if (File.Exists(path) && new FileInfo(path).Length == content.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(content)) return false;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.Write(path, content, durable: false);
        return true;
    }

    /// <summary>Removes catalog files this run did not produce (pages of removed images or versions).</summary>
    private static int RemoveStale(string root, HashSet<string> expected)
    {
        int removed = 0;
        foreach (string dir in new[] { CatalogPaths.Dir, CatalogPaths.ApiDir })
        {
            string full = Path.Combine(root, dir);
            if (!Directory.Exists(full)) continue;
            foreach (var file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories).ToList())
            {
                string rel = Path.GetRelativePath(root, file).Replace('\\', '/');
                if (expected.Contains(rel) || !(rel.EndsWith(".html", StringComparison.Ordinal) || rel.EndsWith(".json", StringComparison.Ordinal))) continue;
                File.Delete(file);
                removed++;
            }
            foreach (var sub in Directory.EnumerateDirectories(full, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
                if (!Directory.EnumerateFileSystemEntries(sub).Any()) Directory.Delete(sub);
        }
        return removed;
    }
}
