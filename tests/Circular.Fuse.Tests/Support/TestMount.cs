namespace Circular.Fuse.Tests.Support;

/// <summary>A <see cref="FuseMount"/> of a <see cref="FakeCatalog"/> on a temp directory, torn down with timeouts.</summary>
internal sealed class TestMount : IAsyncDisposable
{
    private readonly TempDirectory _dir;

    private TestMount(TempDirectory dir, FuseMount mount, FakeCatalog catalog, StringWriter log)
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
    public TempDirectory Temp => _dir;

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public static async Task<TestMount> StartAsync(FakeCatalog? catalog = null, bool writable = false)
    {
        catalog ??= FakeCatalog.WithRandomVersions();
        var dir = new TempDirectory();
        var log = new StringWriter();
        try
        {
            var mount = await FuseMount.MountAsync(catalog, dir.Sub("mnt"), new FuseMountOptions { Writable = writable, Log = new TestLog(log) }, CancellationToken.None)
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
            foreach (var sub in Directory.GetDirectories(_dir.Path).Where(d => d != Root)) Mounts.ForceUnmountUnder(sub);
            await Mount.UnmountAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            _dir.Dispose();
        }
    }
}
