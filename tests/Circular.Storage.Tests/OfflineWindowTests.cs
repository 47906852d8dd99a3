using Circular.Core.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Cache;

namespace Circular.Storage.Tests;

/// <summary>
/// CachingBackend offline: once the archive proved unreachable, metadata comes from the cache's copies without asking
/// again for a while (each attempt costs the client a timeout), then the archive is asked again.
/// </summary>
public sealed class OfflineWindowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("circular-offline-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Metadata_is_answered_from_the_cache_for_a_while_after_the_archive_proved_unreachable()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var remote = new CountingBackend(a.Archive.Backend);
        var clock = new ManualClock();
        var caching = new CachingBackend(remote, new DiskCache(_dir, 64 << 20), time: clock);
        string refs = ObjectHandle.Refs("os").Path, index = ObjectHandle.ImageIndex.Path;
        byte[] first = (await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None))!.Data;
        Assert.NotNull(await caching.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None, CancellationToken.None));

        remote.Down = true;
        Assert.NotNull(await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None)); // the copy
        Assert.True(caching.WentOffline);
        Assert.Equal(2, remote.Reads(refs));
        // Within the window: copies at once, the archive not asked.
        clock.Advance(CachingBackend.OfflineRetryAfter - TimeSpan.FromSeconds(1));
        Assert.NotNull(await caching.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None, CancellationToken.None));
        Assert.NotNull(await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None));
        Assert.Equal(2, remote.Reads(refs));
        Assert.Equal(1, remote.Reads(index));

        // A copy the caller found bad is not handed back from the window: the archive is asked.
        await caching.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None.After(CachingBackend.CacheSourcePrefix + "x"), CancellationToken.None);
        Assert.Equal(2, remote.Reads(index));

        // After it, the archive is asked again, and answers once it is back.
        clock.Advance(CachingBackend.OfflineRetryAfter + TimeSpan.FromSeconds(1)); // past the window the failed read above began
        remote.Down = false;
        await a.PushAsync("os", [TempArchive.Block(2)]);
        var fresh = await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None);
        Assert.Equal(3, remote.Reads(refs));
        Assert.NotEqual(first, fresh!.Data); // version 2's refs, not the copy
    }

    [Fact]
    public async Task An_answer_from_the_archive_ends_the_window()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var remote = new CountingBackend(a.Archive.Backend);
        var caching = new CachingBackend(remote, new DiskCache(_dir, 64 << 20), time: new ManualClock());
        string refs = ObjectHandle.Refs("os").Path;
        await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None);
        remote.Down = true;
        await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None); // offline: the copy
        remote.Down = false;
        // A brief outage: the next chunk or manifest read reaches the archive, and refs are fresh again at once.
        Assert.NotNull(await caching.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None, CancellationToken.None));
        await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None);
        Assert.Equal(3, remote.Reads(refs));
    }
}
