using System.Globalization;
using System.Net;
using System.Text;
using Circular.Core.Chunks;

namespace Circular.Server.Catalog;

/// <summary>A download a version offers (boot ISO, seed disks), relative to the archive root.</summary>
public sealed record CatalogDownload(string Label, string Path);

/// <summary>
/// What differs between the live catalog (`serve`) and a static one: the archive's public URL for the command lines
/// (null: unknown, shown as a placeholder a small inline script replaces with the page's own location), and which
/// downloads each version has.
/// </summary>
public sealed record CatalogSite(string? ArchiveUrl, Func<string, int, IReadOnlyList<CatalogDownload>> Downloads)
{
    public const string UrlPlaceholder = "ARCHIVE_URL";
}

/// <summary>
/// The catalog's HTML: server-rendered, semantic, readable without JavaScript and on a phone, no external resources.
/// Every text from the archive is escaped; every link is relative to the page, so the same pages work from `serve`,
/// nginx, S3 or a CDN under any prefix.
/// </summary>
public static class CatalogHtml
{
    public static string Index(IReadOnlyList<CatalogImage> images, CatalogSite site)
    {
        const string path = CatalogPaths.Index;
        var b = new StringBuilder(4096 + images.Count * 600);
        Head(b, "Circular archive", path, site);
        b.Append("<main id=main><h1>Images</h1>");
        if (images.Count == 0) b.Append("<p>This archive holds no image yet. Publish one with <code>circular push ARCHIVE NAME IMAGE.img</code>.</p>");
        else
        {
            b.Append("<div class=scroll><table><caption>").Append(images.Count).Append(images.Count == 1 ? " image" : " images")
             .Append("; open one for its versions and the ways to boot it</caption><thead><tr><th scope=col>Image</th><th scope=col>Description</th>")
             .Append("<th scope=col>Latest</th><th scope=col class=n>Size</th><th scope=col class=n>Stored</th><th scope=col>Tags</th>")
             .Append("<th scope=col>Signed</th><th scope=col>Optimized</th><th scope=col>Updated</th></tr></thead><tbody>");
            foreach (var img in images)
            {
                b.Append("<tr><th scope=row><a href=\"").Append(Attr(CatalogPaths.ImagePage(img.Name))).Append("\">").Append(Text(img.Name)).Append("</a></th>");
                if (img.Status != RefsStatus.Ok)
                {
                    b.Append("<td colspan=8 class=bad>").Append(StatusLabel(img.Status)).Append(": ").Append(Text(img.Problem ?? "")).Append("</td></tr>");
                    continue;
                }
                b.Append("<td>").Append(Text(img.Description ?? "")).Append("</td><td>").Append(img.Latest)
                 .Append(" <small>of ").Append(img.Versions).Append("</small></td><td class=n>").Append(ByteSize.Format(img.Size))
                 .Append("</td><td class=n>").Append(ByteSize.Format(img.StoredBytes)).Append("</td><td>").Append(Tags(img.Tags.Keys))
                 .Append("</td><td>").Append(Signed(img)).Append("</td><td>")
                 .Append(img.Packed ? "profile, packs" : img.Profiled ? "profile" : "no").Append("</td><td>").Append(Date(img.Updated)).Append("</td></tr>");
            }
            b.Append("</tbody></table></div>");
        }
        b.Append("<p>Programs: <a href=\"").Append(CatalogPaths.ImagesJson).Append("\">JSON</a>.</p></main>");
        return Foot(b, path);
    }

    public static string Image(CatalogImageDetail detail, CatalogSite site)
    {
        var img = detail.Image;
        var page = detail.Versions;
        string path = CatalogPaths.ImagePage(img.Name, page.Page);
        var b = new StringBuilder(8192 + page.Versions.Count * 2500);
        Head(b, $"{img.Name} — Circular archive", path, site);
        b.Append("<nav aria-label=Breadcrumb><a href=\"").Append(CatalogPaths.RootFrom(path)).Append("index.html\">All images</a> › ")
         .Append(Text(img.Name)).Append("</nav><main id=main><h1>").Append(Text(img.Name)).Append("</h1>");
        if (img.Description is { Length: > 0 } d) b.Append("<p class=lead>").Append(Text(d)).Append("</p>");
        if (img.Status != RefsStatus.Ok)
        {
            b.Append("<p class=bad role=alert><strong>").Append(StatusLabel(img.Status)).Append(".</strong> ").Append(Text(img.Problem ?? ""))
             .Append("</p><p>No version of this image is shown until its refs are valid.</p></main>");
            return Foot(b, path);
        }
        b.Append("<p>Latest: version ").Append(img.Latest).Append(" of ").Append(img.Versions).Append(", ").Append(ByteSize.Format(img.Size))
         .Append("; ").Append(ByteSize.Format(img.StoredBytes)).Append(" stored for all versions; ").Append(Signed(img)).Append(".</p>");
        Pager(b, img.Name, page);
        string root = CatalogPaths.RootFrom(path);
        foreach (var v in page.Versions) Version(b, img.Name, v, root, site);
        Pager(b, img.Name, page);
        b.Append("<p>Programs: <a href=\"").Append(root).Append(Attr(CatalogPaths.VersionsJson(img.Name, page.Page))).Append("\">JSON</a>.</p></main>");
        return Foot(b, path);
    }

    public static string NotFound(string message, string path, CatalogSite site)
    {
        var b = new StringBuilder(2048);
        Head(b, "Not found — Circular archive", path, site);
        b.Append("<main id=main><h1>Not found</h1><p>").Append(Text(message)).Append("</p><p><a href=\"").Append(CatalogPaths.RootFrom(path))
         .Append("index.html\">Back to all images</a></p></main>");
        return Foot(b, path);
    }

    private static void Version(StringBuilder b, string name, CatalogVersion v, string root, CatalogSite site)
    {
        string id = "v" + v.Version.ToString(CultureInfo.InvariantCulture);
        string spec = $"{name}@{v.Version.ToString(CultureInfo.InvariantCulture)}";
        b.Append("<section class=version aria-labelledby=").Append(id).Append("><h2 id=").Append(id).Append(">Version ").Append(v.Version);
        if (v.Latest) b.Append(" <span class=tag>latest</span>");
        foreach (var t in v.Tags) b.Append(" <span class=tag>").Append(Text(t)).Append("</span>");
        b.Append("</h2><p class=msg>").Append(Text(v.Message is { Length: > 0 } m ? m : "(no message)")).Append("</p><dl>");
        Item(b, "Published", Date(v.Created));
        Item(b, "Size", v.Chunking == "content"
            ? $"{ByteSize.Format(v.Size)} ({v.Blocks} content-defined chunks, {v.ZeroBlocks} runs of zeros)"
            : $"{ByteSize.Format(v.Size)} ({v.Blocks} blocks, {v.ZeroBlocks} of zeros)");
        Item(b, "Added", $"{ByteSize.Format(v.AddedBytes)} in {Count(v.AddedChunks, "new chunk")}");
        Item(b, "Change", v.Change switch {
            null => "first version",
            { ByChunk: true } c => $"{Count(c.BlocksChanged, "chunk")}, {ByteSize.Format(c.BytesChanged)} not in version {c.From}",
            var c => $"{Count(c.BlocksChanged, "block")}, {ByteSize.Format(c.BytesChanged)} differ from version {c.From}",
        });
        Item(b, "Signature", v.SignedBy is { } k ? "signed by key " + Text(k) : "unsigned");
        Item(b, "Boot profile", v.Profile is { } p
            ? $"{Count(p.Reads, "read")}, {ByteSize.Format(p.Bytes)}" + (p.Packs > 0 ? $"; {Count(p.Packs, "pack")}, {ByteSize.Format(p.PackBytes)}" : "; not packed")
            : "none");
        b.Append("<dt>Manifest</dt><dd><code class=digest>").Append(v.Manifest).Append("</code></dd>");
        if (v.Problem is { } problem) b.Append("<dt>Problem</dt><dd class=bad>").Append(Text(problem)).Append("</dd>");
        if (v.Problem is not null)
        {
            // A version clients would refuse is not offered for use.
            b.Append("</dl></section>");
            return;
        }
        // The latest version's ways to use it are open: most visitors come for them.
        b.Append(v.Latest ? "</dl><details open><summary>Use version " : "</dl><details><summary>Use version ").Append(v.Version).Append("</summary><dl class=use>");
        string url = ArchiveUrl(site);
        Command(b, "Boot it in QEMU", $"circular boot {url} {spec}", url);
        Command(b, "Mount it (loop-mountable file " + Text($"{name}/{v.Version}.img") + ")", $"circular mount {url} /mnt/circular", url);
        Command(b, "Serve it over NBD (export name " + Text(spec) + ")", $"circular nbd {url} --listen 127.0.0.1:10809", url);
        Command(b, "Then attach it", $"qemu-system-x86_64 -m 1G -drive file=nbd://127.0.0.1:10809/{spec},format=raw", url);
        b.Append("<dt>Virtual image (HTTP ranges: QEMU's curl driver, iPXE <code>sanboot</code>)</dt><dd><a href=\"").Append(root).Append(Attr(v.Links.Image)).Append("\">")
         .Append(Text(v.Links.Image)).Append("</a></dd>");
        b.Append("<dt>iPXE script (<code>chain</code> it)</dt><dd><a href=\"").Append(root).Append(Attr(v.Links.Ipxe)).Append("\">").Append(Text(v.Links.Ipxe)).Append("</a></dd>");
        var downloads = site.Downloads(name, v.Version);
        if (downloads.Count > 0)
        {
            b.Append("<dt>Boot media</dt><dd><ul>");
            foreach (var dl in downloads)
                b.Append("<li><a download href=\"").Append(root).Append(Attr(dl.Path)).Append("\">").Append(Text(dl.Label)).Append("</a></li>");
            b.Append("</ul></dd>");
        }
        b.Append("</dl></details></section>");
    }

    private static void Pager(StringBuilder b, string name, CatalogVersionPage page)
    {
        if (page.Pages <= 1) return;
        string here = CatalogPaths.ImagePage(name, page.Page);
        string root = CatalogPaths.RootFrom(here);
        b.Append("<nav class=pager aria-label=\"Pages of versions\"><ul>");
        if (page.Page > 1) b.Append("<li><a rel=prev href=\"").Append(root).Append(Attr(CatalogPaths.ImagePage(name, page.Page - 1))).Append("\">Newer</a></li>");
        foreach (int p in PageWindow(page.Page, page.Pages))
        {
            if (p == page.Page) b.Append("<li><span aria-current=page>").Append(p).Append("</span></li>");
            else b.Append("<li><a href=\"").Append(root).Append(Attr(CatalogPaths.ImagePage(name, p))).Append("\">").Append(p).Append("</a></li>");
        }
        if (page.Page < page.Pages) b.Append("<li><a rel=next href=\"").Append(root).Append(Attr(CatalogPaths.ImagePage(name, page.Page + 1))).Append("\">Older</a></li>");
        b.Append("</ul><p>").Append(page.Total).Append(" versions, page ").Append(page.Page).Append(" of ").Append(page.Pages).Append("</p></nav>");
    }

    /// <summary>The first, the last and the pages around the current one: 1,000 versions make 20 links, not a wall.</summary>
    private static IEnumerable<int> PageWindow(int current, int pages) =>
        new[] { 1, pages }.Concat(Enumerable.Range(current - 2, 5)).Where(p => p >= 1 && p <= pages).Distinct().Order();

    private static void Command(StringBuilder b, string label, string command, string url)
    {
        b.Append("<dt>").Append(label).Append("</dt><dd><code class=cmd>").Append(Text(command).Replace(Text(url), UrlSpan(url), StringComparison.Ordinal)).Append("</code></dd>");
    }

    private static string Count(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private static string UrlSpan(string url) => url == CatalogSite.UrlPlaceholder ? $"<span class=archive-url>{url}</span>" : Text(url);

    private static string ArchiveUrl(CatalogSite site) => site.ArchiveUrl?.TrimEnd('/') ?? CatalogSite.UrlPlaceholder;

    private static void Item(StringBuilder b, string term, string value) => b.Append("<dt>").Append(term).Append("</dt><dd>").Append(value).Append("</dd>");

    private static string Signed(CatalogImage img) => img.SignedBy is { } k ? "signed by key " + Text(k) : "unsigned";

    private static string Tags(IEnumerable<string> tags) => string.Join(" ", tags.Order(StringComparer.Ordinal).Select(t => $"<span class=tag>{Text(t)}</span>"));

    private static string StatusLabel(RefsStatus s) => s switch {
        RefsStatus.Unsigned => "Unsigned refs",
        RefsStatus.BadSignature => "Bad signature",
        RefsStatus.Expired => "Expired signature",
        RefsStatus.Corrupt => "Corrupt refs",
        _ => "OK",
    };

    private static string Date(DateTimeOffset t) =>
        $"<time datetime=\"{t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}\">{t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC</time>";

    private static string Text(string s) => WebUtility.HtmlEncode(s);

    /// <summary>A relative URL in an attribute: path segments are archive names (already a safe alphabet), escaped anyway.</summary>
    private static string Attr(string path) => WebUtility.HtmlEncode(string.Join('/', path.Split('/').Select(Uri.EscapeDataString)));

    private static void Head(StringBuilder b, string title, string path, CatalogSite site)
    {
        b.Append("<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\">")
         .Append("<title>").Append(Text(title)).Append("</title><style>").Append(Style).Append("</style></head><body>")
         .Append("<a class=skip href=\"#main\">Skip to content</a><header><a href=\"").Append(CatalogPaths.RootFrom(path)).Append("index.html\">Circular archive</a>");
        if (site.ArchiveUrl is { } u) b.Append(" <small>").Append(Text(u)).Append("</small>");
        b.Append("</header>");
    }

    private static string Foot(StringBuilder b, string path)
    {
        // Without a known URL the commands name a placeholder; with JavaScript it becomes this page's archive root.
        b.Append("<footer><p>Served as plain files: any web server, mirror, proxy or CDN can serve this archive. ")
         .Append("Every block is verified against its hash by the client.</p></footer><script>(function(){var r=new URL('")
         .Append(CatalogPaths.RootFrom(path)).Append("',location.href).href.replace(/\\/$/,'');")
         .Append("document.querySelectorAll('.archive-url').forEach(function(e){e.textContent=r;});})();</script></body></html>");
        return b.ToString();
    }

    private const string Style =
        ":root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--mute:#59636e;--line:#d0d7de;--acc:#0a58ca;--bad:#b42318;--tag:#eef2f6}" +
        "@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--mute:#9198a1;--line:#30363d;--acc:#58a6ff;--bad:#ff7b72;--tag:#21262d}}" +
        "body{font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:72rem;padding:0 1rem}" +
        "a{color:var(--acc)}a:focus-visible,summary:focus-visible{outline:3px solid var(--acc);outline-offset:2px}" +
        ".skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:var(--bg)}" +
        "header{padding:1rem 0;border-bottom:1px solid var(--line);font-weight:600}header small{font-weight:400;color:var(--mute)}" +
        ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}caption{text-align:left;color:var(--mute);padding:.4rem 0}" +
        "th,td{padding:.4rem .6rem;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}.n{text-align:right;white-space:nowrap}" +
        ".tag{display:inline-block;background:var(--tag);border-radius:.6rem;padding:0 .5rem;font-size:.85em;font-weight:400}" +
        ".bad{color:var(--bad)}.lead{font-size:1.15em}.msg{font-style:italic}" +
        ".version{border-top:1px solid var(--line);padding:.5rem 0}.version h2{font-size:1.2rem;margin:.6rem 0 .2rem}" +
        "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.4rem 0}dt{color:var(--mute)}dd{margin:0;min-width:0}" +
        "details{margin:.4rem 0}summary{cursor:pointer;color:var(--acc)}" +
        "code{font:14px ui-monospace,monospace}.cmd{display:block;user-select:all;overflow-x:auto;white-space:pre;background:var(--tag);padding:.3rem .5rem;border-radius:.3rem}" +
        ".digest{word-break:break-all}.pager ul{list-style:none;display:flex;flex-wrap:wrap;gap:.6rem;padding:0}.pager p{color:var(--mute)}" +
        "footer{border-top:1px solid var(--line);margin-top:2rem;color:var(--mute);font-size:.9em}" +
        "@media (max-width:40rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}";
}
