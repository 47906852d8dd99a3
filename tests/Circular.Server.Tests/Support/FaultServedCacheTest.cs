namespace Circular.Server.Tests.Support;

/// <summary>A standard test archive behind a <see cref="FaultServer"/>, and an empty cache directory, per test.</summary>
public abstract class FaultServedCacheTest(string cachePrefix) : IAsyncLifetime
{
#pragma warning disable CA1051, IDE1006 // test fixtures: the deriving tests use these like their own fields
    protected TestArchive _archive = null!;
    protected FaultServer _server = null!;
    protected readonly string _cache = Scratch.NewReadableDir(cachePrefix);
#pragma warning restore CA1051, IDE1006

    public async Task InitializeAsync()
    {
        _archive = await TestArchive.CreateStandardAsync();
        _server = await FaultServer.StartAsync(_archive.Root);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _archive.Dispose();
        Scratch.Delete(_cache);
    }
}
