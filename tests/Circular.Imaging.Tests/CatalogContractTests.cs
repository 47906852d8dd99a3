using Circular.Client;
using Circular.Core.Archive;
using Circular.Imaging.Catalog;
using Circular.Storage.Chunks;
using Circular.Storage.Trust;

namespace Circular.Imaging.Tests;

/// <summary>Export names of a <see cref="MemoryArchive"/> to the bytes they read: NAME (latest), NAME@N, NAME@first.</summary>
internal static class MemoryArchiveExports
{
    public static byte[] Content(MemoryArchive a, string name, int latest)
    {
        var spec = ImageSpec.Parse(name);
        int version = spec.Selector switch { null or "latest" => latest, "first" => 1, _ => spec.Number!.Value };
        return a.Content(spec.Name, version);
    }
}

/// <summary>An archive's versions with overlays: writable opens keep writes.</summary>
public sealed class WritableArchiveCatalogContract : ImageCatalogContract, IDisposable
{
    private readonly string _overlays = Directory.CreateTempSubdirectory("circ-contract-").FullName;

    public void Dispose() => Directory.Delete(_overlays, recursive: true);

    protected override async Task<CatalogUnderTest> CreateAsync()
    {
        var a = await MemoryArchive.CreateAsync(("os", 2, 5), ("tools", 1, 3));
        var catalog = new ArchiveCatalog(await a.ReaderAsync(), new BackendChunkSource(a.Backend), Path.Combine(_overlays, Guid.NewGuid().ToString("n")));
        return new CatalogUnderTest(catalog, KeepsWrites: true, n => MemoryArchiveExports.Content(a, n, n.StartsWith("os", StringComparison.Ordinal) ? 2 : 1));
    }
}

/// <summary>An archive's versions without an overlay directory: writable opens are read-only.</summary>
public sealed class ReadOnlyArchiveCatalogContract : ImageCatalogContract
{
    protected override async Task<CatalogUnderTest> CreateAsync()
    {
        var a = await MemoryArchive.CreateAsync(("os", 2, 4));
        return new CatalogUnderTest(new ArchiveCatalog(await a.ReaderAsync(), new BackendChunkSource(a.Backend), overlayRoot: null),
            KeepsWrites: false, n => MemoryArchiveExports.Content(a, n, 2));
    }
}

/// <summary>One plain image (range mode's catalog): never writable.</summary>
public sealed class SingleImageCatalogContract : ImageCatalogContract
{
    protected override async Task<CatalogUnderTest> CreateAsync()
    {
        var a = await MemoryArchive.CreateAsync(("os", 1, 4));
        var catalog = new SingleImageCatalog("plain", await a.ImageAsync("os@1"));
        return new CatalogUnderTest(catalog, KeepsWrites: false, _ => a.Content("os", 1));
    }
}

/// <summary>The measuring wrapper (measured boot) keeps its inner catalog's contract.</summary>
public sealed class MeasuringCatalogContract : ImageCatalogContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("circ-contract-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    protected override async Task<CatalogUnderTest> CreateAsync()
    {
        var a = await MemoryArchive.CreateAsync(("os", 2, 4));
        var reader = await a.ReaderAsync();
        var inner = new ArchiveCatalog(reader, new BackendChunkSource(a.Backend), Path.Combine(_dir, Guid.NewGuid().ToString("n")));
        var log = MeasurementLog.Create(Path.Combine(_dir, Guid.NewGuid().ToString("n") + ".log"), null);
        return new CatalogUnderTest(new MeasuringCatalog(inner, reader, log), KeepsWrites: true, n => MemoryArchiveExports.Content(a, n, 2));
    }
}
