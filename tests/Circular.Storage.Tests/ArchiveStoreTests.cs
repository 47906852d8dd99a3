using Circular.Core.Archive;
using Circular.Storage.Archive;
using Circular.Storage.Writing;

namespace Circular.Storage.Tests;

/// <summary>
/// The store seam under WritableArchive: compare-and-swap of mutable objects, and publishing that loses no version
/// even when another writer changes refs between a writer's read and its write (an S3 lease that lapsed).
/// </summary>
public class ArchiveStoreTests
{
    [Fact]
    public async Task FileStore_swap_succeedsOnlyFromTheStateItRead()
    {
        using var t = await TempArchive.CreateAsync();
        var store = new FileStore(t.Dir);
        var handle = ObjectHandle.MirrorList;
        Assert.True(await store.SwapAsync(handle, "a"u8.ToArray(), null, CancellationToken.None));
        Assert.False(await store.SwapAsync(handle, "b"u8.ToArray(), null, CancellationToken.None)); // no longer absent
        var read = await store.ReadForSwapAsync(handle, CancellationToken.None);
        Assert.Equal("a"u8.ToArray(), read.Data);
        Assert.True(await store.SwapAsync(handle, "c"u8.ToArray(), read.Tag, CancellationToken.None));
        Assert.False(await store.SwapAsync(handle, "d"u8.ToArray(), read.Tag, CancellationToken.None)); // stale tag
        Assert.Equal("c"u8.ToArray(), (await store.ReadForSwapAsync(handle, CancellationToken.None)).Data);
    }

    [Fact]
    public async Task Publish_whenAnotherWriterSlipsInBeforeTheRefsSwap_retriesAndBothVersionsSurvive()
    {
        using var t = await TempArchive.CreateAsync();
        var other = await WritableArchive.OpenAsync(t.Dir, CancellationToken.None);
        byte[] mine = TempArchive.Block(1), theirs = TempArchive.Block(2);
        var store = new InterferingStore(new FileStore(t.Dir), () => TempArchive.PushAsync(other, "os", [theirs]));
        var archive = await WritableArchive.OpenAsync(store, CancellationToken.None);

        int version = await TempArchive.PushAsync(archive, "os", [mine]);

        Assert.Equal(2, version); // the interloper took version 1; this writer noticed and took 2
        var refs = await t.Archive.Reader.GetRefsAsync("os", CancellationToken.None);
        Assert.Equal([1, 2], refs.Versions.Select(v => v.Version));
        Assert.Equal(Core.Chunks.ChunkId.Compute(theirs), (await t.Archive.Reader.GetManifestAsync("os", refs.Find(1)!, CancellationToken.None)).Blocks[0]);
        Assert.Equal(Core.Chunks.ChunkId.Compute(mine), (await t.Archive.Reader.GetManifestAsync("os", refs.Find(2)!, CancellationToken.None)).Blocks[0]);
        Assert.Equal(["os"], await t.Archive.Reader.ListImagesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Publish_withLeaseLocks_neverOverwritesAManifestRefsDoNotList_butTakesTheNextNumber()
    {
        using var t = await TempArchive.CreateAsync();
        // A manifest at version 1 that refs do not list: a killed push's leftover, or, with leases, a writer in flight.
        string foreign = Path.Combine(t.Dir, ArchiveLayout.ManifestPath("os", 1));
        Directory.CreateDirectory(Path.GetDirectoryName(foreign)!);
        File.WriteAllText(foreign, "another writer's manifest");
        var archive = await WritableArchive.OpenAsync(new InterferingStore(new FileStore(t.Dir), () => Task.CompletedTask), CancellationToken.None);

        int version = await TempArchive.PushAsync(archive, "os", [TempArchive.Block(3)]);

        Assert.Equal(2, version);
        Assert.Equal("another writer's manifest", File.ReadAllText(foreign));
        var refs = await t.Archive.Reader.GetRefsAsync("os", CancellationToken.None);
        Assert.Equal([2], refs.Versions.Select(v => v.Version));
        // Under flock (a certain lock) the same leftover is replaced instead.
        using var t2 = await TempArchive.CreateAsync();
        string leftover = Path.Combine(t2.Dir, ArchiveLayout.ManifestPath("os", 1));
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllText(leftover, "a killed push's manifest");
        Assert.Equal(1, await t2.PushAsync("os", [TempArchive.Block(3)]));
    }

    /// <summary>A store whose locks lock nothing and whose first refs swap lets another writer publish first.</summary>
    private sealed class InterferingStore(FileStore inner, Func<Task> interfere) : IArchiveStore
    {
        private bool _done;

        public Storage.Backends.IArchiveBackend Backend => inner.Backend;
        public string Location => inner.Location;
        public string ScratchDirectory => inner.ScratchDirectory;
        public Task<IAsyncDisposable> LockAsync(string name, bool exclusive, CancellationToken ct) => Task.FromResult<IAsyncDisposable>(new NoLock());
        public bool ExclusiveLocks => false;
        public bool IsRemote => false;
        public void ThrowIfLocksLost() { }
        public ValueTask FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public Task<SwapRead> ReadForSwapAsync(ObjectHandle handle, CancellationToken ct) => inner.ReadForSwapAsync(handle, ct);

        public async Task<bool> SwapAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, string? tag, CancellationToken ct)
        {
            if (!_done && handle.Kind == ObjectKind.Refs)
            {
                _done = true;
                await interfere();
            }
            return await inner.SwapAsync(handle, data, tag, ct);
        }

        private sealed class NoLock : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
