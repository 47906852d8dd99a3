using System.Net;
using Circular.Core.Archive;
using Circular.Server.Catalog;
using Circular.Server.Images;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Circular.Server.Hosting;

/// <summary>
/// Serves an archive directory over HTTP/1.1 and HTTP/2 with Kestrel: the archive's files as they are (ranges,
/// validators, cache headers that let proxies and CDNs keep immutable objects for a year), every image version
/// as one virtual file /images/NAME/SELECTOR.img, the catalog (docs/catalog.md) at /, /catalog/ and /api/.
/// </summary>
public sealed class ArchiveServer : IAsyncDisposable
{
    public const string ImmutableCacheControl = Core.Archive.CachePolicy.Immutable;
    public const string ShortCacheControl = Core.Archive.CachePolicy.Short;
    /// <summary>How long a stop waits for requests in flight before cutting their connections.</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromMilliseconds(500);
    /// <summary>The largest request body accepted (none is used; the bound only caps what is drained).</summary>
    public const long MaxRequestBody = 64 << 10;
    private readonly WebApplication _app;
    private readonly VirtualImages _images;

    private readonly Boot.BootFiles? _boot;
    private readonly IdleMemoryTrimmer _trimmer = new();

    private ArchiveServer(WebApplication app, VirtualImages images, Boot.BootFiles? boot)
    {
        _app = app;
        _images = images;
        _boot = boot;
    }

    /// <summary>The addresses Kestrel bound (useful with port 0).</summary>
    public IReadOnlyList<string> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    public static Task<ArchiveServer> StartAsync(string archiveRoot, ServerOptions options, CancellationToken ct) =>
        StartCoreAsync(Path.GetFullPath(archiveRoot), null, options, ct);

    /// <summary>
    /// Serves the archive a backend holds (an S3 bucket): the same endpoints, with the archive's objects read through
    /// the backend instead of from files. The server owns and disposes <paramref name="backend"/>.
    /// </summary>
    public static Task<ArchiveServer> StartAsync(string location, Storage.Backends.IArchiveBackend backend, ServerOptions options, CancellationToken ct) =>
        StartCoreAsync(location, backend, options, ct);

    private static async Task<ArchiveServer> StartCoreAsync(string root, Storage.Backends.IArchiveBackend? backend, ServerOptions options, CancellationToken ct)
    {
        var images = await VirtualImages.OpenAsync(root, backend, options.Log, ct).ConfigureAwait(false);
        bool files = backend is null;
        // No reloading of appsettings.json: watching for it put an inotify watch on every directory under the
        // working directory (19,000 in a busy one), and its thread woke for every file written below it.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        // A stop (SIGTERM, Ctrl-C) waits this long for requests in flight, then cuts their connections: a client that
        // holds a half-sent request must not keep the server alive for Kestrel's default 30 s.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownGrace);
        // Request handlers run on the socket's own thread instead of hopping to the thread pool and back for every
        // request: on two cores the hops (wake-ups, context switches) were a large part of serve's CPU per chunk, and
        // nothing here blocks for long (a chunk is read from the page cache or the disk in one call).
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            // Nothing served takes a request body: anything sent with a request is drained up to this bound, not buffered.
            k.Limits.MaxRequestBodySize = MaxRequestBody;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Listen(options.Listen, lo =>
            {
                lo.Protocols = HttpProtocols.Http1AndHttp2; // HTTP/2 is chosen by ALPN when TLS is on
                if (options.TlsCertificate is { } cert) lo.UseHttps(cert);
            });
            // Cleartext HTTP/2 needs prior knowledge, which Kestrel accepts only on an HTTP/2-only endpoint.
            if (options.H2cListen is { } h2c) k.Listen(h2c, lo => lo.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        // Writer state (.locks/, .tmp/, .tmp-* files) must never be served (docs/format.md). PhysicalFileProvider
        // hides only dot-named *files*, not files inside dot-named directories, so refuse any dot segment here.
        app.Use((ctx, next) =>
        {
            if (!HasDotSegment(ctx.Request.Path.Value)) return next(ctx);
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        string chunkRoot = Path.TrimEndingDirectorySeparator(root);
        // Chunk files, nearly every request, before routing: no route matches chunks/, so matching them was wasted work.
        app.Use(async (ctx, next) =>
        {
            if (!files || !await ChunkFileResponder.TryServeAsync(ctx, chunkRoot).ConfigureAwait(false)) await next(ctx).ConfigureAwait(false);
        });
        app.UseRouting();
        // RequestDelegate handlers only: a delegate with bound parameters is compiled by reflection at start-up,
        // which the native build does not have.
        app.MapMethods("/images/{name}/{selector}.img", ["GET", "HEAD"], (HttpContext ctx) =>
            images.ServeAsync(ctx, (string)ctx.Request.RouteValues["name"]!, (string)ctx.Request.RouteValues["selector"]!, ctx.RequestAborted));
        // Network boot: files `circular netboot` wrote are served as they are; anything else under boot/ is made here.
        var boot = options.Netboot is { } nb ? new Boot.BootFiles(images.Client, nb, options.Log) : null;
        // The catalog, rendered live; the URL in its command lines is the one the browser used.
        var catalogReader = new CatalogReader(images.Reader);
        var catalog = new CatalogEndpoints(catalogReader, ctx => new CatalogSite(
            $"{ctx.Request.Scheme}://{ctx.Request.Host}{ctx.Request.PathBase}",
            (name, version) => boot is not null ? Boot.BootFiles.Downloads(name, version) : files ? StaticCatalog.ExistingDownloads(root, name, version) : []));
        string[] getHead = ["GET", "HEAD"];
        app.MapMethods("/", getHead, catalog.IndexAsync);
        app.MapMethods("/" + CatalogPaths.Index, getHead, catalog.IndexAsync);
        // A catch-all matching nothing (/catalog/, /api/) gives no route value: "" then, a 404 page, never a null.
        app.MapMethods("/" + CatalogPaths.Dir + "/{**rest}", getHead, (HttpContext ctx) => catalog.PageAsync(ctx, ctx.Request.RouteValues["rest"] as string ?? ""));
        app.MapMethods("/" + CatalogPaths.ApiDir + "/{**rest}", getHead, (HttpContext ctx) => catalog.ApiAsync(ctx, ctx.Request.RouteValues["rest"] as string ?? ""));
        app.Use(async (ctx, next) =>
        {
            string path = ctx.Request.Path.Value ?? "";
            if (boot is null || !path.StartsWith("/boot/", StringComparison.Ordinal) || (files && File.Exists(Path.Combine(root, path.TrimStart('/')))) ||
                !(HttpMethods.IsGet(ctx.Request.Method) || HttpMethods.IsHead(ctx.Request.Method)) || !await boot.TryServeAsync(ctx, ctx.RequestAborted).ConfigureAwait(false))
                await next(ctx).ConfigureAwait(false);
        });
        if (!files)
        {
            var objects = images.Reader.Backend;
            // Routed requests (virtual images, catalog) run after all middleware: only the rest are objects.
            app.Use((ctx, next) => ctx.GetEndpoint() is not null ? next(ctx) : BackendObjectResponder.ServeAsync(ctx, objects));
        }
        else app.UseStaticFiles(new StaticFileOptions {
            FileProvider = new PhysicalFileProvider(root), // hides dot-files: locks and temporaries are never served
            ServeUnknownFileTypes = true,
            DefaultContentType = "application/octet-stream",
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = r =>
            {
                string rel = r.Context.Request.Path.Value!.TrimStart('/');
                r.Context.Response.Headers.CacheControl = ObjectHandle.FromPath(rel) is { IsImmutable: true } ? ImmutableCacheControl : ShortCacheControl;
            },
        });
        await app.StartAsync(ct).ConfigureAwait(false);
        // Read every image's refs once now: parsing 20 refs of 1,000 versions took the first visitor 130 ms, later ones 20.
        _ = Task.Run(async () =>
        {
            try { await catalogReader.ImagesAsync(CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is Core.Errors.CircularException or IOException) { options.Log.LogWarning("catalog: {Message}", e.Message); }
        }, CancellationToken.None);
        return new ArchiveServer(app, images, boot);
    }

    private static bool HasDotSegment(string? path) =>
        path is not null && (path.StartsWith("/.", StringComparison.Ordinal) || path.Contains("/.", StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _images.DisposeAsync().ConfigureAwait(false);
        _boot?.Dispose();
        _trimmer.Dispose();
    }
}

/// <summary>Where and how to listen.</summary>
public sealed record ServerOptions(IPEndPoint Listen)
{
    /// <summary>Optional cleartext HTTP/2 (prior knowledge) endpoint.</summary>
    public IPEndPoint? H2cListen { get; init; }
    /// <summary>Serve HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with this certificate.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? TlsCertificate { get; init; }
    /// <summary>Answer boot/ requests (iPXE scripts, kernels, initramfs) on the fly; null: only files in the archive.</summary>
    public Boot.NetbootServing? Netboot { get; init; }
    /// <summary>Warnings of the archive's read path.</summary>
    public ILogger Log { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}
