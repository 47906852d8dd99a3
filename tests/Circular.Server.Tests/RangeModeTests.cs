using Circular.Core.Errors;
using Circular.Imaging.Images;
using Circular.Imaging.Remote;
using Circular.Server.Tests.Support;
using Circular.Storage.Cache;

namespace Circular.Server.Tests;

/// <summary>Plain range mode (the seed's HTTPFS): an ordinary file on any HTTP server read with range requests.</summary>
public sealed class RangeModeTests : IDisposable
{
    // A guard against hangs, not a latency bound: twice in full CI runs, at the start of this assembly while the
    // machine's two cores were busiest, the first HEAD to a test nginx that had already answered a probe got no answer
    // within 10 s. Unreproduced alone or under `yes` load; the failure now shows nginx's access log (see OpenOnNginxAsync).
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _www = Scratch.NewReadableDir("circ-www-");
    private readonly string _cache = Scratch.NewReadableDir("circ-cache-");
    private readonly byte[] _raw = ImageData.Os1(64 * 1024).Concat(ImageData.Random(300_001, 9)).ToArray();

    public RangeModeTests() => File.WriteAllBytes(Path.Combine(_www, "raw.img"), _raw);

    public void Dispose()
    {
        Scratch.Delete(_www);
        Scratch.Delete(_cache);
    }

    private static async Task RandomReadsAsync(IBlockImage img, byte[] expected, int seed, int count = 40)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            long offset = rng.NextInt64(expected.Length);
            int length = (int)Math.Min(expected.Length - offset, rng.Next(1, 700_000));
            byte[] got = await TestClient.ReadAsync(img, offset, length);
            Assert.True(expected.AsSpan((int)offset, length).SequenceEqual(got), $"read {i} at {offset}+{length} differs");
        }
    }

    /// <summary>Opens in range mode; a failure carries what nginx logged, to tell a request never answered from one answered but not received.</summary>
    private async Task<ChunkedImage> OpenOnNginxAsync(NginxServer nginx, Uri url, HttpClient http)
    {
        try { return await RangeHttpImage.OpenAsync(url, http, new DiskCache(_cache, 1L << 30), Timeout, CancellationToken.None); }
        catch (CircularException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nnginx's access log:\n{string.Join('\n', nginx.AccessLog)}");
        }
    }

    [Fact]
    public async Task Raw_file_on_nginx_is_byte_exact_and_a_second_run_comes_from_the_cache()
    {
        using var nginx = await NginxServer.StartAsync(_www);
        var url = new Uri(nginx.Url, "raw.img");
        using (var handler = new CountingHandler())
        using (var http = new HttpClient(handler))
        {
            var img = await OpenOnNginxAsync(nginx, url, http);
            Assert.Equal(_raw.Length, img.Size);
            await RandomReadsAsync(img, _raw, 5);
            Assert.Equal(_raw, await TestClient.ReadAllAsync(img));
            Assert.All(handler.Sent.Where(s => s.StartsWith("GET ", StringComparison.Ordinal)), s => Assert.Contains("bytes=", s));
        }
        using var handler2 = new CountingHandler();
        using var http2 = new HttpClient(handler2);
        var again = await RangeHttpImage.OpenAsync(url, http2, new DiskCache(_cache, 1L << 30), Timeout, CancellationToken.None);
        Assert.Equal(_raw, await TestClient.ReadAllAsync(again));
        Assert.Equal(0, handler2.Gets); // only the HEAD that finds the size and validator
        Assert.Equal(1, handler2.Count);
    }

    [Fact]
    public async Task Virtual_image_of_circular_serve_reads_byte_exact_in_range_mode()
    {
        await using var served = await ServedArchive.StartAsync();
        using var http = new HttpClient();
        var img = await RangeHttpImage.OpenAsync(new Uri(served.Url, "images/os/2.img"), http, new DiskCache(_cache, 1L << 30), Timeout, CancellationToken.None);
        byte[] expected = served.Archive.Content("os", 2);
        await RandomReadsAsync(img, expected, 6);
        Assert.Equal(expected, await TestClient.ReadAllAsync(img));
    }

    [Fact]
    public async Task Server_without_range_support_is_rejected_with_a_clear_message()
    {
        await using var server = await FaultServer.StartAsync(_www);
        using var http = new HttpClient();
        var url = new Uri(server.Url, "raw.img");
        var e = await Assert.ThrowsAsync<CircularException>(() => RangeHttpImage.OpenAsync(url, http, null, Timeout, CancellationToken.None));
        Assert.Contains("does not accept byte ranges", e.Message);

        // A server that claims ranges but answers 200 with the whole file is caught on the first read.
        server.Faults.AdvertiseRanges = true;
        var img = await RangeHttpImage.OpenAsync(url, http, null, Timeout, CancellationToken.None);
        var read = await Assert.ThrowsAsync<CircularException>(() => TestClient.ReadAsync(img, 1000, 10));
        Assert.Contains("ignores ranges", read.Message);
    }

    [Fact]
    public async Task File_replaced_on_the_server_is_never_mixed_with_old_cached_blocks()
    {
        using var nginx = await NginxServer.StartAsync(_www);
        var url = new Uri(nginx.Url, "raw.img");
        using var http = new HttpClient();
        var old = await OpenOnNginxAsync(nginx, url, http);
        int half = _raw.Length / 2;
        Assert.Equal(_raw[..half], await TestClient.ReadAsync(old, 0, half));

        // Same size, different bytes, a new modification time (so a new ETag), swapped in atomically.
        byte[] replacement = (byte[])_raw.Clone();
        for (int i = 0; i < replacement.Length; i += 4096) replacement[i] ^= 0xa5;
        string tmp = Path.Combine(_www, ".raw.img.new");
        await File.WriteAllBytesAsync(tmp, replacement);
        File.SetLastWriteTimeUtc(tmp, DateTime.UtcNow.AddMinutes(5));
        Scratch.MakeReadable(_www);
        File.Move(tmp, Path.Combine(_www, "raw.img"), overwrite: true);

        // The image opened before the change refuses to read new blocks of the new file…
        var e = await Assert.ThrowsAsync<CircularException>(() => TestClient.ReadAsync(old, _raw.Length - 1000, 1000)); // a block not read before
        Assert.Contains("changed on the server", e.Message);
        // …and a new open reads the new file only, although the old blocks are still in the cache.
        var fresh = await RangeHttpImage.OpenAsync(url, http, new DiskCache(_cache, 1L << 30), Timeout, CancellationToken.None);
        Assert.Equal(replacement, await TestClient.ReadAllAsync(fresh));
    }
}
