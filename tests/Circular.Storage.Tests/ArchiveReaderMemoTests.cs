using Circular.Core.Archive;
using Circular.Storage.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Tests;

/// <summary>WithMetadataMaxAge: refs and the image index read once answer later lookups for a while, then are read again.</summary>
public class ArchiveReaderMemoTests
{
    [Fact]
    public async Task Refs_and_index_are_read_once_within_the_max_age_and_again_after_it()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend);
        var clock = new ManualClock();
        var reader = (await ArchiveReader.OpenAsync(counting, CancellationToken.None)).WithMetadataMaxAge(TimeSpan.FromSeconds(5), clock);

        Assert.Equal(1, (await reader.GetRefsAsync("os", CancellationToken.None)).Latest);
        Assert.Equal(["os"], await reader.ListImagesAsync(CancellationToken.None));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => reader.GetRefsAsync("os", CancellationToken.None)));
        await reader.ListImagesAsync(CancellationToken.None);
        Assert.Equal(1, counting.Reads("images/os/refs.json"));
        Assert.Equal(1, counting.Reads("images.json"));

        // A version published meanwhile shows once the remembered refs are older than the max age.
        await a.PushAsync("os", [TempArchive.Block(2)]);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, (await reader.GetRefsAsync("os", CancellationToken.None)).Latest);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, (await reader.GetRefsAsync("os", CancellationToken.None)).Latest);
        Assert.Equal(2, counting.Reads("images/os/refs.json"));
    }

    [Fact]
    public async Task Without_a_max_age_every_lookup_reads_the_backend()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend);
        var reader = await ArchiveReader.OpenAsync(counting, CancellationToken.None);
        for (int i = 0; i < 3; i++) await reader.GetRefsAsync("os", CancellationToken.None);
        Assert.Equal(3, counting.Reads("images/os/refs.json"));
    }

    [Fact]
    public async Task A_failed_read_is_not_remembered()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend) { FailNext = 1 };
        var reader = (await ArchiveReader.OpenAsync(counting, CancellationToken.None)).WithMetadataMaxAge(TimeSpan.FromSeconds(5), new ManualClock());
        await Assert.ThrowsAsync<BackendUnavailableException>(() => reader.GetRefsAsync("os", CancellationToken.None));
        Assert.Equal(1, (await reader.GetRefsAsync("os", CancellationToken.None)).Latest);
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Interlocked.Read(ref _ticks);
        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>Counts reads per path; can fail the next reads after circular.json as a mirror outage would.</summary>
    private sealed class CountingBackend(IArchiveBackend inner) : IArchiveBackend
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _reads = new();
        public int FailNext;
        public int Reads(string path) => _reads.GetValueOrDefault(path);
        public string Location => inner.Location;
        public bool IsWritable => false;

        public Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
        {
            string path = handle.Path;
            _reads.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (path != "circular.json" && Interlocked.Decrement(ref FailNext) >= 0) throw new BackendUnavailableException($"{path}: unreachable", new IOException());
            return inner.TryReadAsync(handle, hints, ct);
        }

        public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException();
        public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
        public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException();
    }
}
