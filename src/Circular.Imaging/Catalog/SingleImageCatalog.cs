using Circular.Core.Errors;
using Circular.Imaging.Images;

namespace Circular.Imaging.Catalog;

/// <summary>One plain image (range mode) as a catalog with a single export; the empty name selects it too.</summary>
public sealed class SingleImageCatalog(string name, IBlockImage image) : IImageCatalog
{
    public string Name => name;

    public ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<CatalogEntry>>([new CatalogEntry(name, name, "latest", 0, image.Size, $"{name} (plain image over HTTP ranges)")]);

    public ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct)
    {
        if (exportName.Length > 0 && exportName != name && exportName != name + "@latest")
            throw new NotFoundException($"no export '{exportName}' (this source has one image: '{name}')");
        // A plain image keeps no writes: even a writable open is read-only (the contract of IImageCatalog).
        return ValueTask.FromResult<IBlockImage>(new SharedImage(image));
    }

    /// <summary>An export name for a URL's file: its name without extension, reduced to the allowed characters.</summary>
    public static string NameFor(Uri url)
    {
        string file = Path.GetFileNameWithoutExtension(url.AbsolutePath);
        var chars = file.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray();
        string n = new string(chars).Trim('.', '-');
        return n.Length == 0 ? "image" : n.Length > 100 ? n[..100] : n;
    }
}
