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

    /// <summary>A store whose locks lock nothing and whose first refs swap lets another writer publish first.</summary>
    private sealed class InterferingStore(FileStore inner, Func<Task> interfere) : IArchiveStore
    {
        private bool _done;

        public Storage.Backends.IArchiveBackend Backend => inner.Backend;
        public string Location => inner.Location;
        public string ScratchDirectory => inner.ScratchDirectory;
        public Task<IAsyncDisposable> LockAsync(string name, bool exclusive, CancellationToken ct) => Task.FromResult<IAsyncDisposable>(new NoLock());
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
