using System.Globalization;
using System.Text;
using System.Text.Json;
using Circular.Core.Errors;
using Microsoft.AspNetCore.Http;

namespace Circular.Server.Catalog;

/// <summary>
/// The live catalog of `serve`: the same pages and JSON a static catalog holds (<see cref="CatalogPaths"/>), rendered
/// from the archive on each request, plus the API forms /api/images, /api/images/NAME and /api/images/NAME/versions?page=K.
/// </summary>
public sealed class CatalogEndpoints(CatalogReader catalog, Func<HttpContext, CatalogSite> site)
{
    public async Task IndexAsync(HttpContext ctx)
    {
        try
        {
            var images = await catalog.ImagesAsync(ctx.RequestAborted).ConfigureAwait(false);
            await HtmlAsync(ctx, 200, CatalogHtml.Index(images, site(ctx))).ConfigureAwait(false);
        }
        catch (CircularException e) when (e is not NotFoundException)
        {
            await BrokenAsync(ctx, CatalogPaths.Index, e).ConfigureAwait(false);
        }
    }

    /// <summary>The archive itself is unreadable (a corrupt images.json or keys.json): said on a page, not a bare 500.</summary>
    private Task BrokenAsync(HttpContext ctx, string path, CircularException e) =>
        HtmlAsync(ctx, 500, CatalogHtml.NotFound($"This archive cannot be listed: {e.Message}", path, site(ctx)));

    /// <summary>catalog/NAME/, catalog/NAME/index.html, catalog/NAME/page-K.html.</summary>
    public async Task PageAsync(HttpContext ctx, string rest)
    {
        string path = CatalogPaths.Dir + "/" + rest;
        var parts = rest.Split('/');
        int page = parts switch {
            [_, "" or "index.html"] => 1,
            [_, var file] when file.StartsWith("page-", StringComparison.Ordinal) && file.EndsWith(".html", StringComparison.Ordinal)
                && int.TryParse(file.AsSpan(5, file.Length - 10), NumberStyles.None, CultureInfo.InvariantCulture, out int k) => k,
            _ => 0,
        };
        if (page < 1)
        {
            await HtmlAsync(ctx, 404, CatalogHtml.NotFound($"There is no catalog page {rest}.", path, site(ctx))).ConfigureAwait(false);
            return;
        }
        try
        {
            var detail = await catalog.ImageAsync(parts[0], page, CatalogReader.DefaultPageSize, ctx.RequestAborted).ConfigureAwait(false);
            if (detail is null) await HtmlAsync(ctx, 404, CatalogHtml.NotFound($"This archive has no image named '{parts[0]}'.", path, site(ctx))).ConfigureAwait(false);
            else await HtmlAsync(ctx, 200, CatalogHtml.Image(detail, site(ctx))).ConfigureAwait(false);
        }
        catch (NotFoundException e)
        {
            await HtmlAsync(ctx, 404, CatalogHtml.NotFound(e.Message + ".", path, site(ctx))).ConfigureAwait(false);
        }
        catch (CircularException e)
        {
            await BrokenAsync(ctx, path, e).ConfigureAwait(false);
        }
    }

    /// <summary>api/images(.json), api/images/NAME[/index.json][?page=K], api/images/NAME/versions[?page=K], api/images/NAME/versions-K.json.</summary>
    public async Task ApiAsync(HttpContext ctx, string rest)
    {
        var ct = ctx.RequestAborted;
        var parts = rest.Split('/');
        int queryPage = ctx.Request.Query.TryGetValue("page", out var q) ? (int.TryParse(q, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0) : 1;
        try
        {
            switch (parts)
            {
                case ["images" or "images.json"]:
                    await JsonAsync(ctx, 200, JsonSerializer.SerializeToUtf8Bytes(await catalog.ImagesAsync(ct).ConfigureAwait(false), CatalogJson.Default.ListCatalogImage)).ConfigureAwait(false);
                    return;
                case ["images", var name, ..] when parts.Length == 2 || (parts.Length == 3 && parts[2] is "" or "index.json"):
                    var detail = await DetailAsync(name, queryPage, ct).ConfigureAwait(false);
                    await JsonAsync(ctx, 200, JsonSerializer.SerializeToUtf8Bytes(detail, CatalogJson.Default.CatalogImageDetail)).ConfigureAwait(false);
                    return;
                case ["images", var name, var file] when file == "versions" || (file.StartsWith("versions-", StringComparison.Ordinal) && file.EndsWith(".json", StringComparison.Ordinal)):
                    int page = file == "versions" ? queryPage
                        : int.TryParse(file.AsSpan(9, file.Length - 14), NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : 0;
                    var versions = (await DetailAsync(name, page, ct).ConfigureAwait(false)).Versions;
                    await JsonAsync(ctx, 200, JsonSerializer.SerializeToUtf8Bytes(versions, CatalogJson.Default.CatalogVersionPage)).ConfigureAwait(false);
                    return;
                default:
                    throw new NotFoundException($"no API resource /api/{rest}");
            }
        }
        catch (CircularException e)
        {
            await JsonAsync(ctx, e is NotFoundException ? 404 : 500, JsonSerializer.SerializeToUtf8Bytes(new CatalogError(e.Message), CatalogJson.Default.CatalogError)).ConfigureAwait(false);
        }
    }

    private async Task<CatalogImageDetail> DetailAsync(string name, int page, CancellationToken ct)
    {
        if (page < 1) throw new NotFoundException("page must be a number from 1");
        return await catalog.ImageAsync(name, page, CatalogReader.DefaultPageSize, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"this archive has no image named '{name}'");
    }

    private static Task HtmlAsync(HttpContext ctx, int status, string html) =>
        SendAsync(ctx, status, "text/html; charset=utf-8", Encoding.UTF8.GetBytes(html));

    private static Task JsonAsync(HttpContext ctx, int status, byte[] json) => SendAsync(ctx, status, "application/json", json);

    private static async Task SendAsync(HttpContext ctx, int status, string type, byte[] body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = type;
        ctx.Response.ContentLength = body.Length;
        ctx.Response.Headers.CacheControl = Hosting.ArchiveServer.ShortCacheControl;
        if (!HttpMethods.IsHead(ctx.Request.Method)) await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted).ConfigureAwait(false);
    }
}
