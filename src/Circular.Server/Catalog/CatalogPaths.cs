using System.Globalization;
using Circular.Boot.Netboot;

namespace Circular.Server.Catalog;

/// <summary>
/// Where the catalog's pages and JSON live, relative to the archive's root: the same paths for `serve` (rendered live)
/// and for a static catalog written by `circular catalog` (docs/catalog.md), so every link is relative and works
/// under any host and prefix.
/// </summary>
public static class CatalogPaths
{
    public const string Index = "index.html";
    public const string Dir = "catalog";
    public const string ApiDir = "api";

    /// <summary>Page 1 of an image: catalog/NAME/index.html; later pages catalog/NAME/page-K.html.</summary>
    public static string ImagePage(string image, int page = 1) =>
        page <= 1 ? $"{Dir}/{image}/index.html" : $"{Dir}/{image}/page-{page.ToString(CultureInfo.InvariantCulture)}.html";

    /// <summary>
    /// The static JSON files (serve answers these and /api/images, /api/images/NAME, ?page= too). Each image's files are
    /// in a directory of its own, so no image name (they may contain dots) can collide with another image's files.
    /// </summary>
    public const string ImagesJson = ApiDir + "/images.json";
    public static string ImageJson(string image) => $"{ApiDir}/images/{image}/index.json";
    public static string VersionsJson(string image, int page) => $"{ApiDir}/images/{image}/versions-{page.ToString(CultureInfo.InvariantCulture)}.json";

    /// <summary>How many directories down a page lies: its links to the root start with this many "../".</summary>
    public static string RootFrom(string pagePath) => string.Concat(Enumerable.Repeat("../", pagePath.Count(c => c == '/')));

    public static CatalogLinks Links(string image, int version)
    {
        string v = version.ToString(CultureInfo.InvariantCulture);
        return new CatalogLinks($"images/{image}/{v}.img", NetbootLayout.Script(image, v), $"images/{image}/versions/{v}");
    }

    /// <summary>The boot ISO of a version: written by `circular netboot --iso` into a static archive, made on request by `serve`.</summary>
    public static string Iso(string image, string selector) => NetbootLayout.Iso(image, selector);

    /// <summary>A seed disk of a version in a format (its file extension): `circular seed ... -o ARCHIVE/boot/NAME/V-seed.qcow2`.</summary>
    public static string Seed(string image, string selector, string extension) => $"{NetbootLayout.Dir}/{image}/{selector}-seed.{extension}";
}
