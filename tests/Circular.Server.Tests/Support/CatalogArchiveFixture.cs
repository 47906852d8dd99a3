using Circular.Core.Archive;
using Circular.Core.Signing;
using Circular.Storage.Trust;

namespace Circular.Server.Tests.Support;

/// <summary>
/// An archive for the catalog tests, served by `serve`'s server: the standard images (os described with markup in its
/// description), "many" with 120 versions (three pages), and "broken" whose refs file is corrupt.
/// </summary>
public sealed class CatalogArchiveFixture : IAsyncLifetime
{
    public const string Hostile = "<script>alert(1)</script> & \"quoted\" <b>bold</b>";
    public const int ManyVersions = 120;
    private ServedArchive? _served;

    public ServedArchive Served => _served ?? throw new InvalidOperationException("fixture not started");
    public TestArchive Archive => Served.Archive;
    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        var a = await TestArchive.CreateStandardAsync();
        await a.Archive.UpdateRefsAsync("os", r => r with { Description = Hostile }, CancellationToken.None);
        var rng = new Random(7);
        for (int v = 1; v <= ManyVersions; v++)
        {
            byte[] content = new byte[a.ChunkSize * 2];
            rng.NextBytes(content.AsSpan(0, 4096)); // one block changes each version, one stays zero
            await a.PushAsync("many", content);
        }
        await a.PushAsync("broken", new byte[a.ChunkSize]);
        await File.WriteAllTextAsync(Path.Combine(a.Root, ArchiveLayout.RefsPath("broken")), "{ \"format\": \"circular-refs\", \"formatVersion\": 1, \"image\": \"broken\", \"tags\": null }");
        _served = await ServedArchive.StartAsync(a);
    }

    public Uri Url(string path) => new(Served.Url, path);

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_served is not null) await _served.DisposeAsync();
    }
}
