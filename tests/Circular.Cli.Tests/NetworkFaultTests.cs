using System.Diagnostics;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// Network faults against every client path that reads over HTTP (cat, nbd, mount, mirror, and the range mode of
/// nbd and mount): resets, truncated bodies, wrong Content-Length, stalls, slow-loris bodies, flipped bytes and 200
/// answers to range requests. A fault that passes (each file's first answer is bad) gives the exact bytes; a fault
/// that stays gives a clean error within a bounded time. Never wrong bytes, never an unbounded wait.
/// </summary>
public sealed class NetworkFaultTests : IAsyncLifetime
{
    /// <summary>Eight 256 KiB chunks, the last one short (a whole number of 4 KiB blocks, as block devices are).</summary>
    private const int Size = (8 << 18) - (64 << 10);
    /// <summary>The client's deadline per request (seconds): stalls and slow-loris bodies cost this much per attempt.</summary>
    private const string Timeout = "2";
    /// <summary>How long a read may take to fail when every answer is faulty (3 rounds of 2 s deadlines and backoff).</summary>
    private static readonly TimeSpan FailBound = TimeSpan.FromSeconds(60);
    private readonly Scratch _s = new();
    private string _archive = "", _image = "";

    public static TheoryData<HttpFault> ChunkFaults =>
        [HttpFault.Reset, HttpFault.Truncated, HttpFault.ShortLength, HttpFault.LongLength, HttpFault.Stall, HttpFault.SlowLoris, HttpFault.Garbage];

    public async Task InitializeAsync()
    {
        _archive = await _s.InitArchiveAsync("archive");
        _image = RandomData.WriteFile(_s["os.img"], Size, 21);
        await PushOutput.PushAsync(_archive, "os", _image);
    }

    public Task DisposeAsync()
    {
        _s.Dispose();
        return Task.CompletedTask;
    }

    private static void AssertOneCleanLine(RunResult r)
    {
        Assert.True(r.Code == 1, $"expected exit 1:\n{r}");
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        Assert.True(r.ErrLines.Count(l => l.StartsWith("circular: ", StringComparison.Ordinal) && !l.StartsWith("circular: note", StringComparison.Ordinal) && !l.StartsWith("circular: warning", StringComparison.Ordinal)) == 1, $"expected one error line:\n{r.Err}");
    }

    [Theory]
    [MemberData(nameof(ChunkFaults))]
    public async Task Cat_reads_the_exact_bytes_through_a_fault_that_passes(HttpFault fault)
    {
        await using var server = new FaultyHttpServer(_archive, fault) { FaultsPerPath = 1 };
        string output = _s[$"cat-{fault}.img"];
        (await CircularCli.RunAsync("cat", server.Url.ToString(), "os", "-o", output, "--cache", "none", "--timeout", Timeout)).Ok();
        Files.AssertSameBytes(_image, output);
        Assert.True(server.FaultsServed >= 8, $"only {server.FaultsServed} faulty answers: the test proves little");
    }

    [Theory]
    [MemberData(nameof(ChunkFaults))]
    public async Task Cat_fails_cleanly_in_bounded_time_when_the_fault_stays(HttpFault fault)
    {
        await using var server = new FaultyHttpServer(_archive, fault);
        string output = _s[$"cat-stays-{fault}.img"];
        var clock = Stopwatch.StartNew();
        var r = await CircularCli.RunAsync("cat", server.Url.ToString(), "os", "-o", output, "--cache", "none", "--timeout", Timeout);
        Assert.True(clock.Elapsed < FailBound, $"failing took {clock.Elapsed.TotalSeconds:F0} s");
        AssertOneCleanLine(r);
        Assert.Empty(Directory.GetFiles(_s.Dir, $"cat-stays-{fault}.img*")); // no image, whole or partial
    }

    /// <summary>Reads the whole export of a running `circular nbd` with qemu-img into <paramref name="output"/>.</summary>
    private static Task<RunResult> NbdCopyAsync(string socket, string export, string output) =>
        Tools.TryAsync(FailBound + FailBound, null, "qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd+unix:///{export}?socket={socket}", output);

    [Theory]
    [InlineData(HttpFault.Reset)]
    [InlineData(HttpFault.Stall)]
    [InlineData(HttpFault.Garbage)]
    public async Task Nbd_export_reads_the_exact_bytes_through_a_fault_that_passes(HttpFault fault)
    {
        await using var server = new FaultyHttpServer(_archive, fault) { FaultsPerPath = 1 };
        string sock = _s[$"nbd-{fault}.sock"], output = _s[$"nbd-{fault}.img"];
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", server.Url.ToString(), "--socket", sock, "--cache", "none", "--timeout", Timeout);
        (await NbdCopyAsync(sock, "os", output)).Ok();
        Files.AssertSameBytes(_image, output);
        Assert.True(server.FaultsServed >= 8, $"only {server.FaultsServed} faulty answers");
        await nbd.StopAsync("TERM");
    }

    [Theory]
    [InlineData(HttpFault.Truncated)]
    [InlineData(HttpFault.SlowLoris)]
    public async Task Nbd_read_fails_with_an_io_error_in_bounded_time_and_the_server_lives_on(HttpFault fault)
    {
        await using var server = new FaultyHttpServer(_archive, fault);
        string sock = _s[$"nbd-stays-{fault}.sock"];
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", server.Url.ToString(), "--socket", sock, "--cache", "none", "--timeout", Timeout);
        var clock = Stopwatch.StartNew();
        var r = await Tools.TryAsync(FailBound + FailBound, null, "qemu-io", "-r", "-f", "raw", "-c", "read 0 4096", $"nbd+unix:///os?socket={sock}");
        Assert.True(clock.Elapsed < FailBound, $"failing took {clock.Elapsed.TotalSeconds:F0} s");
        Assert.Contains("Input/output error", r.Out + r.Err, StringComparison.Ordinal);
        Assert.False(nbd.HasExited, "the NBD server died with the read");
        // Once the network heals the same server reads the exact bytes.
        server.Healed = true;
        string output = _s[$"nbd-healed-{fault}.img"];
        (await NbdCopyAsync(sock, "os", output)).Ok();
        Files.AssertSameBytes(_image, output);
        await nbd.StopAsync("TERM");
    }

    [Theory]
    [InlineData(HttpFault.Reset, true)]
    [InlineData(HttpFault.LongLength, true)]
    [InlineData(HttpFault.Stall, false)]
    public async Task Mount_reads_the_exact_bytes_through_a_passing_fault_and_fails_with_EIO_when_it_stays(HttpFault fault, bool passes)
    {
        await using var server = new FaultyHttpServer(_archive, fault) { FaultsPerPath = passes ? 1 : int.MaxValue };
        string mnt = _s.NewDir($"mnt-{fault}");
        await using var mount = await CircularCli.StartAsync("mounted on", "mount", server.Url.ToString(), mnt, "--cache", "none", "--timeout", Timeout);
        var read = Task.Run(() => File.ReadAllBytes(Path.Combine(mnt, "os", "latest.img")));
        var clock = Stopwatch.StartNew();
        if (passes)
        {
            Assert.Equal(File.ReadAllBytes(_image), await read.WaitAsync(FailBound));
            Assert.True(server.FaultsServed >= 8, $"only {server.FaultsServed} faulty answers");
        }
        else
        {
            var e = await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(FailBound));
            Assert.True(clock.Elapsed < FailBound, $"failing took {clock.Elapsed.TotalSeconds:F0} s");
            Assert.Contains("Input/output error", e.Message, StringComparison.Ordinal);
            Assert.False(mount.HasExited, "the mount died with the read");
        }
        await mount.StopAsync("TERM");
    }

    [Theory]
    [InlineData(HttpFault.Truncated)]
    [InlineData(HttpFault.ShortLength)]
    [InlineData(HttpFault.Garbage)]
    public async Task Mirror_completes_through_a_passing_fault_and_refuses_to_publish_while_it_stays(HttpFault fault)
    {
        string dest = _s[$"mirror-{fault}"];
        await using (var stays = new FaultyHttpServer(_archive, fault))
        {
            var clock = Stopwatch.StartNew();
            var r = await CircularCli.RunAsync("mirror", stays.Url.ToString(), dest, "--timeout", Timeout);
            Assert.True(clock.Elapsed < FailBound, $"failing took {clock.Elapsed.TotalSeconds:F0} s");
            AssertOneCleanLine(r);
            Assert.False(File.Exists(Path.Combine(dest, "images", "os", "refs.json")), "refs published for chunks that never arrived");
        }
        await using var passes = new FaultyHttpServer(_archive, fault) { FaultsPerPath = 1 };
        (await CircularCli.RunAsync("mirror", passes.Url.ToString(), dest, "--timeout", Timeout)).Ok();
        Assert.True(passes.FaultsServed >= 8, $"only {passes.FaultsServed} faulty answers");
        await ArchiveChecks.VerifyCleanAsync(dest);
        string output = _s[$"mirror-{fault}.img"];
        (await CircularCli.RunAsync("cat", dest, "os", "-o", output, "--cache", "none")).Ok();
        Files.AssertSameBytes(_image, output);
    }

    [Theory]
    [InlineData(HttpFault.Reset)]
    [InlineData(HttpFault.Truncated)]
    [InlineData(HttpFault.LongLength)]
    [InlineData(HttpFault.Stall)]
    public async Task A_plain_image_in_range_mode_reads_the_exact_bytes_through_a_fault_that_passes(HttpFault fault)
    {
        string dir = _s.NewDir($"plain-{fault}");
        File.Copy(_image, Path.Combine(dir, "os.img"));
        await using var server = new FaultyHttpServer(dir, fault) { FaultsPerPath = 1, Targets = p => p == "/os.img" };
        string sock = _s[$"range-{fault}.sock"], output = _s[$"range-{fault}.img"];
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", new Uri(server.Url, "os.img").ToString(), "--socket", sock, "--cache", "none", "--timeout", Timeout);
        (await NbdCopyAsync(sock, "os", output)).Ok();
        Files.AssertSameBytes(_image, output);
        Assert.True(server.FaultsServed >= 1, "no faulty answer: the test proves nothing");
        await nbd.StopAsync("TERM");
    }

    [Fact]
    public async Task A_reader_killed_while_its_fuse_reads_wait_on_a_stalled_network_leaves_the_mount_serving()
    {
        // The kernel sends FUSE_INTERRUPT for the killed reader's requests and then waits for their answers.
        var server = new FaultyHttpServer(_archive, HttpFault.Stall);
        await using var _ = server;
        string mnt = _s.NewDir("mnt-interrupted");
        await using var mount = await CircularCli.StartAsync("mounted on", "mount", server.Url.ToString(), mnt, "--cache", "none", "--timeout", Timeout);
        string file = Path.Combine(mnt, "os", "latest.img");
        using var reader = Process.Start(new ProcessStartInfo("cat", [file]) { RedirectStandardOutput = true })!;
        var drained = reader.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var clock = Stopwatch.StartNew();
        while (server.FaultsServed == 0 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(50);
        Assert.True(server.FaultsServed > 0, "the reader's requests never reached the server");
        Assert.False(reader.HasExited, "the reader finished through a stalled network");
        reader.Kill();

        server.Healed = true;
        await reader.WaitForExitAsync().WaitAsync(FailBound);
        await drained;
        Assert.False(mount.HasExited, "the mount died with the reader");
        Assert.Equal(File.ReadAllBytes(_image), await Task.Run(() => File.ReadAllBytes(file)).WaitAsync(FailBound));
        await mount.StopAsync("TERM");
    }

    [Fact]
    public async Task A_server_answering_200_to_range_requests_is_refused_with_a_clear_message_not_misread()
    {
        string dir = _s.NewDir("plain-ignores-ranges");
        File.Copy(_image, Path.Combine(dir, "os.img"));
        await using var server = new FaultyHttpServer(dir, HttpFault.IgnoreRange) { Targets = p => p == "/os.img" };
        string mnt = _s.NewDir("mnt-ignores-ranges");
        await using var mount = await CircularCli.StartAsync("mounted on", "mount", new Uri(server.Url, "os.img").ToString(), mnt, "--cache", "none", "--timeout", Timeout);
        var read = Task.Run(() =>
        {
            using var f = File.OpenRead(Path.Combine(mnt, "os", "latest.img"));
            f.Position = 1 << 20; // not the first block: a 200 would put the file's start here
            return f.Read(new byte[4096]);
        });
        await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(FailBound));
        Assert.True(server.FaultsServed >= 1);
        await mount.StopAsync("TERM");
        Assert.Contains("ignores ranges", mount.Err, StringComparison.Ordinal);
    }
}
