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
    public async Task Refs_read_for_the_latest_version_answer_a_numbered_version_and_not_the_reverse()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend);
        var reader = (await ArchiveReader.OpenAsync(counting, CancellationToken.None)).WithMetadataMaxAge(TimeSpan.FromSeconds(5), new ManualClock());
        await reader.GetRefsAsync("os", CancellationToken.None);
        await reader.GetRefsAsync("os", CancellationToken.None, explicitVersion: true);
        Assert.Equal(1, counting.Reads("images/os/refs.json"));

        // Refs read for a numbered version passed only the laxer check: a request for the latest reads them again.
        var other = (await ArchiveReader.OpenAsync(counting, CancellationToken.None)).WithMetadataMaxAge(TimeSpan.FromSeconds(5), new ManualClock());
        await other.GetRefsAsync("os", CancellationToken.None, explicitVersion: true);
        await other.GetRefsAsync("os", CancellationToken.None);
        Assert.Equal(3, counting.Reads("images/os/refs.json"));
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
}
