using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Tests;

/// <summary>ReadAheadBackend: reads started ahead answer the next read of their object once, fresh, without hints.</summary>
public class ReadAheadBackendTests
{
    [Fact]
    public async Task A_read_ahead_answers_the_next_read_once_and_later_reads_ask_again()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend);
        var ahead = new ReadAheadBackend(counting);

        ahead.ReadAhead([ObjectHandle.Config, ObjectHandle.Refs("os"), ObjectHandle.Refs("none")], CancellationToken.None);
        Assert.Equal(1, counting.Reads("images/os/refs.json"));
        Assert.Equal(3, ahead.Pending);

        // Version 2 lands after the read ahead: the read that takes it sees version 1, the next one reads again.
        var early = await ahead.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None);
        await a.PushAsync("os", [TempArchive.Block(2)]);
        var later = await ahead.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None);
        Assert.Equal(1, Core.Refs.ImageRefs.Parse(early!.Data, "os").Latest);
        Assert.Equal(2, Core.Refs.ImageRefs.Parse(later!.Data, "os").Latest);
        Assert.Equal(2, counting.Reads("images/os/refs.json"));

        Assert.Null(await ahead.TryReadAsync(ObjectHandle.Refs("none"), ReadHints.None, CancellationToken.None)); // "not there", as read ahead
        Assert.Equal(1, counting.Reads("images/none/refs.json"));
        using var config = await ahead.TryReadPooledAsync(ObjectHandle.Config, ReadHints.None, CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(a.Dir, "circular.json")), config!.Data.ToArray());
        Assert.Equal(1, counting.Reads("circular.json"));
        Assert.Equal(0, ahead.Pending);
    }

    [Fact]
    public async Task A_read_with_hints_or_past_the_freshness_reads_again()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend);
        var clock = new ManualClock();
        var ahead = new ReadAheadBackend(counting, clock);

        ahead.ReadAhead([ObjectHandle.Refs("os"), ObjectHandle.ImageIndex], CancellationToken.None);
        await ahead.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None.After("mirror-a"), CancellationToken.None);
        Assert.Equal(2, counting.Reads("images/os/refs.json")); // a retry after bad data asks for another copy

        clock.Advance(ReadAheadBackend.Freshness + TimeSpan.FromSeconds(1));
        await ahead.TryReadAsync(ObjectHandle.ImageIndex, ReadHints.None, CancellationToken.None);
        Assert.Equal(2, counting.Reads("images.json")); // too old to stand for the archive as it is now
        Assert.Equal(0, ahead.Pending);
    }

    [Fact]
    public async Task A_failed_read_ahead_fails_the_read_that_takes_it_and_an_untaken_one_is_harmless()
    {
        using var a = await TempArchive.CreateAsync();
        await a.PushAsync("os", [TempArchive.Block(1)]);
        var counting = new CountingBackend(a.Archive.Backend) { Down = true };
        var ahead = new ReadAheadBackend(counting);

        ahead.ReadAhead([ObjectHandle.Refs("os"), ObjectHandle.KeyList], CancellationToken.None);
        counting.Down = false;
        var e = await Assert.ThrowsAsync<BackendUnavailableException>(() => ahead.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None));
        Assert.Contains("refs.json", e.Message);
        Assert.Equal(1, counting.Reads("images/os/refs.json")); // the taker gets the read ahead's own outcome
        Assert.NotNull(await ahead.TryReadAsync(ObjectHandle.Refs("os"), ReadHints.None, CancellationToken.None));
        Assert.Equal(1, ahead.Pending); // keys.json's failure was never taken: observed, so it raises nothing
    }
}
