using System.Collections.Concurrent;
using Circular.Core.Errors;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;

namespace Circular.Nbd.Tests.Support;

/// <summary>
/// Exports "os" (latest, the same bytes as "os@2"), "os@1" and "os@2". Every open of a name shares one byte
/// array, so a write through one connection is visible to the test and to other connections.
/// </summary>
public sealed class MemoryCatalog : IImageCatalog
{
    private readonly List<CatalogEntry> _entries = [];
    private readonly Dictionary<string, byte[]> _data = [];

    public ConcurrentQueue<MemoryBlockImage> Opened { get; } = new();

    /// <summary>Called on each open; lets a test fail or hold back an open.</summary>
    public Func<string, ValueTask>? OnOpen { get; set; }

    public void Add(string name, string selector, int version, byte[] data, string description)
    {
        _entries.Add(new CatalogEntry(name, "os", selector, version, data.Length, description));
        _data[name] = data;
    }

    public byte[] DataOf(string name) => _data[name];

    /// <summary>
    /// os@1: 4 MiB, data then a hole. os@2 / os: 8 MiB with data at 0–1 MiB and 3–4 MiB, zeros elsewhere,
    /// so block status has holes to report.
    /// </summary>
    public static MemoryCatalog CreateDefault(int size = 8 * 1024 * 1024)
    {
        var catalog = new MemoryCatalog();
        byte[] v1 = RandomData.Bytes(4 * 1024 * 1024, seed: 1);
        v1.AsSpan(2 * 1024 * 1024).Clear();
        byte[] v2 = TestData.Sparse(size, seed: 2);
        catalog.Add("os", "latest", 2, v2, "os, latest version");
        catalog.Add("os@1", "1", 1, v1, "os, version 1");
        catalog.Add("os@2", "2", 2, v2, "os, version 2");
        return catalog;
    }

    public ValueTask<IReadOnlyList<CatalogEntry>> ListAsync(CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<CatalogEntry>>(_entries.ToArray());

    public async ValueTask<IBlockImage> OpenAsync(string exportName, bool writable, CancellationToken ct)
    {
        if (OnOpen is not null)
            await OnOpen(exportName);
        if (!_data.TryGetValue(exportName, out byte[]? data))
            throw new NotFoundException($"no export named \"{exportName}\"");
        var image = new MemoryBlockImage(data, writable);
        Opened.Enqueue(image);
        return image;
    }
}

public static class TestData
{
    /// <summary>Random data at [0, 1 MiB) and [3 MiB, 4 MiB); zeros elsewhere.</summary>
    public static byte[] Sparse(int size, int seed)
    {
        const int MiB = 1024 * 1024;
        byte[] data = new byte[size];
        var random = new Random(seed);
        random.NextBytes(data.AsSpan(0, Math.Min(MiB, size)));
        if (size >= 4 * MiB)
            random.NextBytes(data.AsSpan(3 * MiB, MiB));
        return data;
    }
}
