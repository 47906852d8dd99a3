using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;

namespace Circular.Fuse.Tests.Support;

/// <summary>
/// Image "os" with versions 1 and 2, "latest" pointing at the newest and tag "stable" at version 1. Versions
/// can be added while mounted; each has its own backing array and a writable flag, and opens are counted.
/// </summary>
internal sealed class FakeCatalog : IImageCatalog
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, (byte[] Bytes, bool Writable)> _versions = [];
    private int _openImages;
    private int _opens;

    public FakeCatalog(byte[] version1, byte[] version2, bool version2Writable = true)
    {
        _versions[1] = (version1, false);
        _versions[2] = (version2, version2Writable);
    }

    /// <summary>The usual fixture: 1 MiB + 123 bytes and 3 MiB + 7 bytes of distinct pseudo-random data.</summary>
    public static FakeCatalog WithRandomVersions(bool version2Writable = true) =>
        new(RandomData.Bytes((1 << 20) + 123, 1), RandomData.Bytes((3 << 20) + 7, 2), version2Writable);

    public byte[] Bytes(int version)
    {
        lock (_gate) return _versions[version].Bytes;
    }

    public int OpenImages => Volatile.Read(ref _openImages);

    public int Opens => Volatile.Read(ref _opens);

    public int ListCalls;

    public void AddVersion(int version, byte[] bytes, bool writable = false)
    {
        lock (_gate) _versions[version] = (bytes, writable);
    }

    public ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref ListCalls);
        lock (_gate)
        {
            int latest = _versions.Keys.Max();
            var entries = _versions.OrderBy(v => v.Key)
                .Select(v => new CatalogEntry($"os@{v.Key}", "os", v.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Key, v.Value.Bytes.Length, $"version {v.Key}"))
                .Append(new CatalogEntry("os", "os", "latest", latest, _versions[latest].Bytes.Length, "latest"))
                .Append(new CatalogEntry("os@stable", "os", "stable", 1, _versions[1].Bytes.Length, "stable"))
                .ToList();
            return ValueTask.FromResult<IReadOnlyList<CatalogEntry>>(entries);
        }
    }

    public ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct)
    {
        (byte[] Bytes, bool Writable) version;
        lock (_gate)
        {
            int number = exportName switch {
                "os" => _versions.Keys.Max(),
                "os@stable" => 1,
                _ when exportName.StartsWith("os@", StringComparison.Ordinal) && int.TryParse(exportName[3..], out int n) && _versions.ContainsKey(n) => n,
                _ => throw new NotFoundException($"no export {exportName}"),
            };
            version = _versions[number];
        }
        // Like an archive version: asking to write a read-only one is refused, and the front end falls back.
        if (writable && !version.Writable) throw new ReadOnlyImageException($"{exportName} is read-only");
        Interlocked.Increment(ref _opens);
        Interlocked.Increment(ref _openImages);
        IBlockImage image = new MemoryBlockImage(version.Bytes, writable, () => Interlocked.Decrement(ref _openImages));
        return ValueTask.FromResult(image);
    }
}
