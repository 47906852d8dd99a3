using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// A mirror that answers chunk requests with a 1.9 GB Content-Length or an endless chunked body cannot make `cat`
/// allocate more than a bounded amount: the body is cut off at the largest valid chunk file, the mirror counts as
/// failed, and a good mirror, when there is one, serves the read.
/// </summary>
public sealed class HostileMirrorTests : IAsyncLifetime
{
    /// <summary>Peak resident memory allowed for a `cat` of a small image (a normal one peaks well below this).</summary>
    private const long PeakBound = 256L << 20;
    private readonly Scratch _s = new();
    private string _archive = "";

    public async Task InitializeAsync()
    {
        _archive = await _s.InitArchiveAsync("archive");
        await PushOutput.PushAsync(_archive, "os", RandomData.WriteFile(_s["os.img"], 2_000_000, 11));
    }

    public Task DisposeAsync()
    {
        _s.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(HttpFault.HugeLength)]
    [InlineData(HttpFault.EndlessChunked)]
    public async Task A_hostile_mirror_alone_fails_the_read_without_unbounded_memory(HttpFault mode)
    {
        await using var hostile = new FaultyHttpServer(_archive, mode);
        var (r, peak) = await PeakMemory.RunAsync("cat", hostile.Url.ToString(), "os", "-o", _s[$"alone-{mode}"], "--cache", "none", "--timeout", "20");
        Assert.Equal(1, r.Code);
        Assert.Contains("largest valid chunk file", r.Err);
        Assert.True(peak < PeakBound, $"peak RSS {peak >> 20} MiB with a {mode} mirror");
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Theory]
    [InlineData(HttpFault.HugeLength)]
    [InlineData(HttpFault.EndlessChunked)]
    public async Task With_a_good_mirror_the_read_completes_within_bounded_memory(HttpFault mode)
    {
        await using var hostile = new FaultyHttpServer(_archive, mode);
        // The honest mirror answers 200 ms late (far beyond the noise of a loaded machine), so the client ranks the hostile one first and meets its bodies.
        await using var good = new FaultyHttpServer(_archive, HttpFault.None) { Delay = TimeSpan.FromMilliseconds(200) };
        var (r, peak) = await PeakMemory.RunAsync("cat", hostile.Url.ToString(), "os", "--mirror", good.Url.ToString(),
            "-o", _s[$"mirrored-{mode}"], "--cache", "none", "--timeout", "20");
        r.Ok();
        Files.AssertSameBytes(_s["os.img"], _s[$"mirrored-{mode}"]);
        Assert.True(hostile.HostileBytesSent > 0, "the hostile mirror was never asked for a chunk: the test proves nothing");
        Assert.True(peak < PeakBound, $"peak RSS {peak >> 20} MiB with a {mode} mirror beside a good one");
    }
}
