namespace Circular.Fuse.Tests.Support;

/// <summary>A <see cref="FuseMount"/> of a <see cref="FakeCatalog"/> on a temp directory, torn down with timeouts.</summary>
internal sealed class TestMount : IAsyncDisposable
{
    private readonly Scratch _dir;

    private TestMount(Scratch dir, FuseMount mount, FakeCatalog catalog, StringWriter log)
    {
        _dir = dir;
        Mount = mount;
        Catalog = catalog;
        Log = log;
    }

    public FuseMount Mount { get; }
    public FakeCatalog Catalog { get; }
    public StringWriter Log { get; }
    public string Root => Mount.MountPoint;
    public Scratch Temp => _dir;

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public static async Task<TestMount> StartAsync(FakeCatalog? catalog = null, bool writable = false)
    {
        catalog ??= FakeCatalog.WithRandomVersions();
        var dir = new Scratch();
        var log = new StringWriter();
        try
        {
            var mount = await FuseMount.MountAsync(catalog, dir.NewDir("mnt"), new FuseMountOptions { Writable = writable, Log = new TestLog(log) }, CancellationToken.None)
                .WaitAsync(TimeSpan.FromSeconds(30));
            return new TestMount(dir, mount, catalog, log);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Loop mounts made by a test sit under the temp dir and must go before the FUSE mount they read from.
            foreach (var sub in Directory.GetDirectories(_dir.Dir).Where(d => d != Root)) Mounts.UnmountUnder(sub);
            await Mount.UnmountAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            _dir.Dispose();
        }
    }
}
