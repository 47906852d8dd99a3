using System.Net;
using System.Text;
using System.Text.Json;
using Circular.Core.Chunks;
using Circular.Storage.Archive;
using Microsoft.AspNetCore.Http;

namespace Circular.Server.Catalog;

/// <summary>The catalog: an HTML page for people and /api/images for programs.</summary>
public static class CatalogPages
{
    public sealed record ImageInfo(string Name, int Latest, Dictionary<string, int> Tags, List<VersionInfo> Versions);
    public sealed record VersionInfo(int Version, long Size, DateTimeOffset Created, string? Message, long AddedBytes, string Url);

    public static async Task<List<ImageInfo>> ListAsync(ArchiveReader reader, CancellationToken ct)
    {
        var list = new List<ImageInfo>();
        foreach (var name in await reader.ListImagesAsync(ct).ConfigureAwait(false))
        {
            var refs = await reader.TryGetRefsAsync(name, ct).ConfigureAwait(false);
            if (refs is null) continue;
            list.Add(new ImageInfo(name, refs.Latest, refs.Tags,
                refs.Versions.OrderByDescending(v => v.Version)
                    .Select(v => new VersionInfo(v.Version, v.Size, v.Created, v.Message, v.AddedBytes, $"/images/{name}/{v.Version}.img")).ToList()));
        }
        return list;
    }

    public static async Task JsonAsync(HttpContext ctx, ArchiveReader reader, CancellationToken ct)
    {
        ctx.Response.Headers.CacheControl = "public, max-age=10";
        ctx.Response.ContentType = "application/json";
        var list = await ListAsync(reader, ct).ConfigureAwait(false);
        await JsonSerializer.SerializeAsync(ctx.Response.Body, list, CatalogJson.Default.ListImageInfo, ct).ConfigureAwait(false);
    }

    public static async Task HtmlAsync(HttpContext ctx, ArchiveReader reader, CancellationToken ct)
    {
        ctx.Response.Headers.CacheControl = "public, max-age=10";
        ctx.Response.ContentType = "text/html; charset=utf-8";
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=utf-8><title>Circular archive</title>")
          .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left}</style></head><body>")
          .Append("<h1>Circular archive</h1><p>Boot or mount any version: <code>circular boot URL NAME@VERSION</code>, ")
          .Append("<code>circular nbd URL</code>, or read <code>/images/NAME/VERSION.img</code> with any HTTP range client.</p>");
        foreach (var img in await ListAsync(reader, ct).ConfigureAwait(false))
        {
            string n = WebUtility.HtmlEncode(img.Name);
            sb.Append($"<h2>{n}</h2><table><tr><th>version</th><th>size</th><th>created</th><th>added</th><th>tags</th><th>message</th></tr>");
            foreach (var v in img.Versions)
            {
                string tags = string.Join(", ", img.Tags.Where(t => t.Value == v.Version).Select(t => WebUtility.HtmlEncode(t.Key)));
                if (v.Version == img.Latest) tags = tags.Length == 0 ? "latest" : "latest, " + tags;
                sb.Append($"<tr><td><a href=\"{v.Url}\">{v.Version}</a></td><td>{ByteSize.Format(v.Size)}</td><td>{v.Created:u}</td>")
                  .Append($"<td>{ByteSize.Format(v.AddedBytes)}</td><td>{tags}</td><td>{WebUtility.HtmlEncode(v.Message ?? "")}</td></tr>");
            }
            sb.Append("</table>");
        }
        sb.Append("</body></html>");
        await ctx.Response.WriteAsync(sb.ToString(), ct).ConfigureAwait(false);
    }
}

/// <summary>Source-generated serializer for /api/images (no reflection in the native build).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<CatalogPages.ImageInfo>))]
internal sealed partial class CatalogJson : System.Text.Json.Serialization.JsonSerializerContext;
