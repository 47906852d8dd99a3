using System.Collections.Concurrent;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Imaging.HotData;
using Circular.Imaging.Images;
using Circular.Imaging.Overlay;
using Circular.Storage.Archive;
using Circular.Storage.Chunks;

namespace Circular.Imaging.Catalog;

/// <summary>
/// Every version of every image of an archive as exports: NAME (latest), NAME@N and NAME@TAG.
/// Writable opens put a copy-on-write overlay (one per image, under the overlay root) over the version.
/// </summary>
/// <param name="hot">Profiles, packs and prefetch for the versions opened (null: none, versions read chunk by chunk).</param>
public sealed class ArchiveCatalog(ArchiveReader reader, IChunkSource chunks, string? overlayRoot, HotDataLayer? hot = null) : IImageCatalog, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<OverlayImage>>> _overlays = new(StringComparer.Ordinal);

    public async ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct)
    {
        var list = new List<CatalogEntry>();
        foreach (var image in await reader.ListImagesAsync(ct).ConfigureAwait(false))
        {
            var refs = await reader.TryGetRefsAsync(image, ct).ConfigureAwait(false);
            if (refs is null) continue;
            if (refs.Find(refs.Latest) is { } latest)
                list.Add(new CatalogEntry(image, image, "latest", latest.Version, latest.Size, $"{image} version {latest.Version} (latest)"));
            foreach (var v in refs.Versions.OrderBy(v => v.Version))
                list.Add(new CatalogEntry($"{image}@{v.Version}", image, v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Version, v.Size,
                    string.IsNullOrEmpty(v.Message) ? $"{image} version {v.Version}" : $"{image} version {v.Version}: {v.Message}"));
            foreach (var (tag, version) in refs.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
                if (refs.Find(version) is { } v)
                    list.Add(new CatalogEntry($"{image}@{tag}", image, tag, version, v.Size, $"{image} version {version} (tag {tag})"));
        }
        return list;
    }

    public async ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct)
    {
        ImageSpec spec;
        try { spec = ImageSpec.Parse(exportName); }
        catch (UsageException e) { throw new NotFoundException($"no export '{exportName}': {e.Message}"); }
        var version = await reader.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        var entry = version.Entry;
        var chunked = new ChunkedImage(version.Manifest, chunks, version.Name);
        IVersionImage image = hot is null ? chunked : await hot.OpenAsync(spec.Name, entry, chunked, version.Refs).WaitAsync(ct).ConfigureAwait(false);
        // Without an overlay directory this catalog keeps no writes: writable opens are read-only (IImageCatalog's contract).
        if (!writable || overlayRoot is null) return image;
        // One overlay per image holds the changes to one version; the image's other versions stay readable, read-only.
        if (await OverlayBaseOnDiskAsync(spec.Name, ct).ConfigureAwait(false) is { } onDisk && onDisk != entry.ManifestDigest) return image;
        // An overlay already open here, or left on disk, on this version: use it. Otherwise create it on the first write.
        if (_overlays.ContainsKey(spec.Name) || File.Exists(Path.Combine(overlayRoot, spec.Name, "overlay.json")))
        {
            var overlay = await OpenOverlayAsync(spec.Name, image, entry.ManifestDigest).ConfigureAwait(false);
            return overlay.State.BaseManifest == entry.ManifestDigest ? new SharedImage(overlay) : image;
        }
        return new LazyOverlayImage(image, entry.ManifestDigest, () => OpenOverlayAsync(spec.Name, image, entry.ManifestDigest),
            () => _overlays.TryGetValue(spec.Name, out var open) && open.IsValueCreated && open.Value.IsCompletedSuccessfully ? open.Value.Result : null);
    }

    /// <summary>The image's one overlay, opened once and shared by every lease.</summary>
    private async Task<OverlayImage> OpenOverlayAsync(string name, IVersionImage image, string digest)
    {
        var lazy = _overlays.GetOrAdd(name, n => new Lazy<Task<OverlayImage>>(
            () => OverlayImage.OpenAsync(Path.Combine(overlayRoot!, n), image, digest, CancellationToken.None)));
        try { return await lazy.Value.ConfigureAwait(false); }
        catch
        {
            _overlays.TryRemove(name, out _);
            throw;
        }
    }

    /// <summary>The base manifest of the image's overlay: the one open here, else the one on disk; null when none exists.</summary>
    private async ValueTask<string?> OverlayBaseOnDiskAsync(string image, CancellationToken ct)
    {
        if (_overlays.TryGetValue(image, out var open) && open.IsValueCreated && open.Value.IsCompletedSuccessfully)
            return open.Value.Result.State.BaseManifest;
        string statePath = Path.Combine(overlayRoot!, image, "overlay.json");
        if (!File.Exists(statePath)) return null;
        return OverlayState.Parse(await File.ReadAllBytesAsync(statePath, ct).ConfigureAwait(false), statePath).BaseManifest;
    }

    /// <summary>Flushes and closes every overlay opened through this catalog.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _overlays.Values)
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully) await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
        _overlays.Clear();
        if (hot is not null) await hot.DisposeAsync().ConfigureAwait(false);
    }
}
