using System.Collections.Concurrent;
using Circular.Boot.Initramfs;
using Circular.Boot.Media;
using Circular.Boot.Netboot;
using Circular.Boot.Seed;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Storage.Archive;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Circular.Server.Boot;

/// <summary>What `serve` needs to answer network-boot requests itself: the in-guest circular and where kernel modules are.</summary>
public sealed record NetbootServing(InitramfsOptions Initramfs);

/// <summary>
/// Answers boot/ requests that no file in the archive answers (docs/inetboot.md): an iPXE script for any image and
/// selector (its URLs taken from the request, so it works under any host name), the version's kernel, and a Circular
/// initramfs per kernel release, built on first request and kept for the server's life.
/// </summary>
public sealed class BootFiles(ArchiveClient client, NetbootServing serving, ILogger log) : IDisposable
{
    /// <summary>
    /// Boot ISOs and seed disks made on request, one per version, base URL and kind. Bounded (the base URL comes from the
    /// request's Host header, so anyone could ask for new ones): the oldest are deleted past <see cref="MaxMedia"/>, and
    /// one is made at a time.
    /// </summary>
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _media = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _mediaOrder = new();
    private readonly SemaphoreSlim _making = new(1, 1);
    public const int MaxMedia = 24;
    private readonly Lazy<string> _mediaDir = new(() => Directory.CreateTempSubdirectory("circular-serve-media-").FullName);

    private readonly ConcurrentDictionary<string, Lazy<Task<(byte[] Kernel, string Release)>>> _kernels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<byte[]>>> _initramfs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (AssetRef Kernel, int ChunkSize)> _known = new(StringComparer.Ordinal);

    public async Task<bool> TryServeAsync(HttpContext ctx, CancellationToken ct)
    {
        var parts = (ctx.Request.Path.Value ?? "").Trim('/').Split('/');
        try
        {
            switch (parts)
            {
                case [NetbootLayout.Dir, "kernels", var id]:
                    await SendAsync(ctx, (await KernelAsync(id, ct).ConfigureAwait(false)).Kernel, "application/octet-stream", ct).ConfigureAwait(false);
                    return true;
                case [NetbootLayout.Dir, "initramfs", var name] when name.EndsWith(".img", StringComparison.Ordinal):
                    await SendAsync(ctx, await InitramfsAsync(name[..^4], ct).ConfigureAwait(false), "application/octet-stream", ct).ConfigureAwait(false);
                    return true;
                case [NetbootLayout.Dir, var image, var file] when file.EndsWith(".iso", StringComparison.Ordinal):
                    await SendFileAsync(ctx, await MediaAsync(ctx, image, file[..^4], null, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    return true;
                case [NetbootLayout.Dir, var image, var file] when SeedFile(file) is var (selector, format):
                    await SendFileAsync(ctx, await MediaAsync(ctx, image, selector, format, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    return true;
                case [NetbootLayout.Dir, var image, var file] when file.EndsWith(".ipxe", StringComparison.Ordinal):
                    string script = await ScriptAsync(ctx, image, file[..^5], ct).ConfigureAwait(false);
                    await SendAsync(ctx, System.Text.Encoding.UTF8.GetBytes(script), "text/plain; charset=utf-8", ct).ConfigureAwait(false);
                    return true;
                default:
                    return false;
            }
        }
        catch (CircularException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.Usage)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            await ctx.Response.WriteAsync(e.Message + "\n", ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (!ct.IsCancellationRequested && !ctx.Response.HasStarted)
        {
            // Making a medium can fail on this host (a missing tool, a full disk): say so, to the log and the client.
            log.LogError("cannot answer {Path}: {Message}", ctx.Request.Path.Value, e.Message);
            ctx.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await ctx.Response.WriteAsync($"cannot make {ctx.Request.Path.Value}: {e.Message}\n", ct).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>What the catalog offers for a version when `serve` makes boot media: the ISO and a seed disk per growable format.</summary>
    public static IReadOnlyList<Catalog.CatalogDownload> Downloads(string image, int version)
    {
        string v = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var list = new List<Catalog.CatalogDownload> { new("Boot ISO (CD or USB stick, BIOS and UEFI)", Catalog.CatalogPaths.Iso(image, v)) };
        // Raw is left out: a raw seed disk is as large as its virtual size once downloaded.
        foreach (var (ext, label) in Catalog.StaticCatalog.SeedFormats.Where(f => f.Extension != "img"))
            list.Add(new(label, Catalog.CatalogPaths.Seed(image, v, ext)));
        return list;
    }

    /// <summary>SELECTOR-seed.EXT: the selector and the disk format, or null.</summary>
    private static (string, DiskFormat)? SeedFile(string file)
    {
        int dash = file.LastIndexOf("-seed.", StringComparison.Ordinal);
        if (dash <= 0) return null;
        string ext = file[(dash + 6)..];
        if (ext == "img" || !Catalog.StaticCatalog.SeedFormats.Any(f => f.Extension == ext)) return null;
        return DiskFormat.FromFileName(file) is { } format ? (file[..dash], format) : null;
    }

    /// <summary>
    /// The boot ISO (<paramref name="seed"/> null) or a seed disk of a version, made on first request from the version's
    /// kernel and the server's Circular initramfs, pointing at the archive's URL as the request named it.
    /// </summary>
    private async Task<string> MediaAsync(HttpContext ctx, string image, string selector, DiskFormat? seed, CancellationToken ct)
    {
        var version = await client.OpenVersionAsync(ImageSpec.Parse($"{image}@{selector}"), ct).ConfigureAwait(false);
        var kernel = version.Manifest.Metadata.Boot?.Kernel
            ?? throw new NotFoundException($"{version.Name} has no kernel stored with it (push it with --kernel FILE)");
        string baseUrl = $"{ctx.Request.Scheme}://{ctx.Request.Host}{ctx.Request.PathBase}".TrimEnd('/').ToLowerInvariant();
        string key = $"{version.Name}|{baseUrl}|{seed?.Name ?? "iso"}";
        var lazy = _media.GetOrAdd(key, k => new Lazy<Task<string>>(() => MakeBoundedAsync(k, version, kernel, baseUrl, seed)));
        try { return await lazy.Value.WaitAsync(ct).ConfigureAwait(false); }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            // A failure is not kept: the next request tries again (say, after the missing tool was installed).
            _media.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, lazy));
            throw;
        }
    }

    private async Task<string> MakeBoundedAsync(string key, ResolvedVersion version, AssetRef kernel, string baseUrl, DiskFormat? seed)
    {
        await _making.WaitAsync().ConfigureAwait(false);
        try
        {
            string file = await MakeMediaAsync(version, kernel, baseUrl, seed).ConfigureAwait(false);
            _mediaOrder.Enqueue(key);
            while (_mediaOrder.Count > MaxMedia && _mediaOrder.TryDequeue(out var oldest))
                if (_media.TryRemove(oldest, out var gone) && gone.Value.IsCompletedSuccessfully) TryDelete(gone.Value.Result);
            return file;
        }
        finally { _making.Release(); }
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private async Task<string> MakeMediaAsync(ResolvedVersion version, AssetRef kernelAsset, string baseUrl, DiskFormat? seed)
    {
        string id = NetbootLayout.KernelId(kernelAsset);
        _known[id] = (kernelAsset, version.Manifest.AssetBlockSize);
        var (kernelBytes, release) = await KernelAsync(id, CancellationToken.None).ConfigureAwait(false);
        byte[] initramfs = await InitramfsAsync(release, CancellationToken.None).ConfigureAwait(false);
        string work = Directory.CreateDirectory(Path.Combine(_mediaDir.Value, $"work-{Guid.NewGuid():n}")).FullName;
        try
        {
            string kernelFile = Path.Combine(work, "vmlinuz"), initrdFile = Path.Combine(work, "initramfs");
            await File.WriteAllBytesAsync(kernelFile, kernelBytes).ConfigureAwait(false);
            await File.WriteAllBytesAsync(initrdFile, initramfs).ConfigureAwait(false);
            var spec = new ImageSpec(version.Spec.Name, version.Entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            string output = Path.Combine(_mediaDir.Value, $"{Guid.NewGuid():n}.{seed?.Name ?? "iso"}");
            if (seed is null)
            {
                string cmdline = CommandLine.For([baseUrl], spec, [], null);
                await BootIso.WriteAsync(output, kernelFile, initrdFile, [new BootEntry($"Circular: {version.Name} from {baseUrl}", cmdline)], CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                SeedDiskWriter.CheckInstalled(seed);
                var uuid = Guid.NewGuid();
                var menu = SeedMenu.For(spec, version.Refs, version.Entry.Version, [baseUrl], [], uuid.ToString(), null);
                await SeedDiskWriter.WriteAsync(new SeedDiskRequest {
                    Output = output,
                    Format = seed,
                    Size = SeedSize,
                    Kernel = kernelFile,
                    Initramfs = initrdFile,
                    CacheStaging = CachePartition.CreateStaging(work),
                    CacheUuid = uuid,
                    Description = new SeedDescription {
                        Created = DateTimeOffset.UtcNow,
                        Urls = [baseUrl],
                        Image = spec.ToString(),
                        Version = version.Name,
                        KernelRelease = release,
                        CacheUuid = uuid.ToString(),
                        Menu = menu,
                    },
                }, log, CancellationToken.None).ConfigureAwait(false);
            }
            log.LogInformation("made {File} for {Version}", Path.GetFileName(output), version.Name);
            return output;
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    /// <summary>The virtual size of seed disks made here (the file grows only as the machine fetches blocks).</summary>
    public const long SeedSize = 16L << 30;

    private static async Task SendFileAsync(HttpContext ctx, string file, CancellationToken ct)
    {
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.ContentLength = new FileInfo(file).Length;
        ctx.Response.Headers.CacheControl = ArchiveServer_ShortCache;
        if (!HttpMethods.IsHead(ctx.Request.Method)) await ctx.Response.SendFileAsync(file, ct).ConfigureAwait(false);
    }

    public void Dispose()
    {
        // A medium still being made may hold files there: what cannot be removed now is a temporary directory left behind.
        try { if (_mediaDir.IsValueCreated) Directory.Delete(_mediaDir.Value, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log.LogWarning("cannot remove {Dir}: {Message}", _mediaDir.Value, e.Message); }
    }

    private async Task<string> ScriptAsync(HttpContext ctx, string image, string selector, CancellationToken ct)
    {
        var version = await client.OpenVersionAsync(ImageSpec.Parse($"{image}@{selector}"), ct).ConfigureAwait(false);
        var kernel = version.Manifest.Metadata.Boot?.Kernel
            ?? throw new NotFoundException($"{version.Name} has no kernel stored with it (push it with --kernel FILE)");
        string id = NetbootLayout.KernelId(kernel);
        _known[id] = (kernel, version.Manifest.AssetBlockSize);
        var (_, release) = await KernelAsync(id, ct).ConfigureAwait(false);
        _ = InitramfsAsync(release, CancellationToken.None); // started now: iPXE asks for it right after the script
        string baseUrl = $"{ctx.Request.Scheme}://{ctx.Request.Host}{ctx.Request.PathBase}".TrimEnd('/');
        string cmdline = CommandLine.For([baseUrl], new ImageSpec(image, version.Entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), [], null);
        return IpxeScript.For($"Circular: {version.Name} ({selector}) from {baseUrl}",
            NetbootLayout.FromScript($"{NetbootLayout.Dir}/kernels/{id}"), NetbootLayout.FromScript(NetbootLayout.Initramfs(release + ".img")), cmdline);
    }

    private Task<(byte[] Kernel, string Release)> KernelAsync(string id, CancellationToken ct)
    {
        if (!_known.ContainsKey(id)) throw new NotFoundException($"no kernel {id} here (ask for a boot script first)");
        var lazy = _kernels.GetOrAdd(id, k => new Lazy<Task<(byte[], string)>>(() => FetchKernelAsync(k)));
        return lazy.Value.WaitAsync(ct);
    }

    private async Task<(byte[], string)> FetchKernelAsync(string id)
    {
        var (asset, chunkSize) = _known[id];
        string work = Directory.CreateTempSubdirectory("circular-serve-boot-").FullName;
        try
        {
            string file = await BootAssetFiles.FetchAsync(asset, chunkSize, client.Chunks, Path.Combine(work, "vmlinuz"), CancellationToken.None).ConfigureAwait(false);
            byte[] bytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
            return (bytes, KernelImage.Release(bytes) ?? throw new ArchiveFormatException($"kernel {id} is not an x86 Linux kernel"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private Task<byte[]> InitramfsAsync(string release, CancellationToken ct)
    {
        if (release.Contains('/') || release.StartsWith('.')) throw new NotFoundException($"no initramfs '{release}'");
        var lazy = _initramfs.GetOrAdd(release, r => new Lazy<Task<byte[]>>(() => Task.Run(() =>
        {
            string tree = serving.Initramfs.ModuleTree.Length > 0 ? serving.Initramfs.ModuleTree : Path.Combine("/lib/modules", r);
            using var ms = new MemoryStream();
            InitramfsBuilder.Build(serving.Initramfs with { ModuleTree = tree }, ms);
            log.LogInformation("built the Circular initramfs for kernel {Release} ({Bytes} bytes)", r, ms.Length);
            return ms.ToArray();
        })));
        var task = lazy.Value;
        if (task.IsFaulted) _initramfs.TryRemove(new KeyValuePair<string, Lazy<Task<byte[]>>>(release, lazy));
        return task.WaitAsync(ct);
    }

    private static async Task SendAsync(HttpContext ctx, byte[] body, string type, CancellationToken ct)
    {
        ctx.Response.ContentType = type;
        ctx.Response.ContentLength = body.Length;
        ctx.Response.Headers.CacheControl = ArchiveServer_ShortCache;
        if (!HttpMethods.IsHead(ctx.Request.Method)) await ctx.Response.Body.WriteAsync(body, ct).ConfigureAwait(false);
    }

    private const string ArchiveServer_ShortCache = Hosting.ArchiveServer.ShortCacheControl;
}
