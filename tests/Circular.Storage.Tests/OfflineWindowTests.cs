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

        // After it, the archive is asked again, and answers once it is back.
        clock.Advance(TimeSpan.FromSeconds(2));
        remote.Down = false;
        await a.PushAsync("os", [TempArchive.Block(2)]);
        var fresh = await caching.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None);
        Assert.Equal(3, remote.Reads(refs));
        Assert.NotEqual(first, fresh!.Data); // version 2's refs, not the copy
    }
}
