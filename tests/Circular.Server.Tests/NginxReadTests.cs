using Circular.Core.Chunks;
using Circular.Server.Tests.Support;

namespace Circular.Server.Tests;

/// <summary>An archive served by plain nginx, read through the whole client stack.</summary>
public sealed class NginxReadTests(NginxArchiveFixture fx) : IClassFixture<NginxArchiveFixture>, IDisposable
{
    private readonly string _cache = Scratch.NewReadableDir("circ-cache-");

    public void Dispose() => Scratch.Delete(_cache);

    [Theory]
    [InlineData("os@1", "os", 1)]
    [InlineData("os@2", "os", 2)]
    [InlineData("os", "os", 2)]
    [InlineData("os@stable", "os", 1)]
    [InlineData("tools@latest", "tools", 1)]
    public async Task Whole_image_is_byte_exact(string spec, string image, int version)
    {
        await using var client = await TestClient.OpenAsync(fx.Nginx.Url, _cache);
        var img = await client.OpenImageAsync(spec);
        Assert.Equal(fx.Archive.Content(image, version), await TestClient.ReadAllAsync(img));
    }

    [Theory]
    [InlineData("os", 1, 1)]
    [InlineData("os", 2, 2)]
    [InlineData("tools", 1, 3)]
    public async Task Random_reads_are_byte_exact_and_fetch_only_the_chunks_they_touch(string image, int version, int seed)
    {
        await using var client = await TestClient.OpenAsync(fx.Nginx.Url, _cache);
        var img = await client.OpenImageAsync($"{image}@{version}");
        byte[] expected = fx.Archive.Content(image, version);
        var manifest = img.Manifest;
        int cs = manifest.ChunkSize;
        var fetched = new HashSet<ChunkId>();
        long before = client.Http.Requests;
        var rng = new Random(seed);
        for (int i = 0; i < 40; i++)
        {
            long offset = rng.NextInt64(expected.Length);
            int length = (int)Math.Min(expected.Length - offset, rng.Next(4) switch { 0 => rng.Next(1, 17), 1 => rng.Next(1, 4096), 2 => rng.Next(1, cs * 2), _ => rng.Next(1, cs * 6) });
            byte[] got = await TestClient.ReadAsync(img, offset, length);
            Assert.True(expected.AsSpan((int)offset, length).SequenceEqual(got), $"read {i} at {offset}+{length} differs");
            for (long b = offset / cs; b <= (offset + length - 1) / cs; b++)
                if (!manifest.Blocks[b].IsZero) fetched.Add(manifest.Blocks[b]);
            Assert.Equal(fetched.Count, client.Http.Requests - before);
        }
        Assert.True(fetched.Count < manifest.Blocks.Distinct().Count(), "the reads happened to touch every chunk; the test proves nothing");
    }

    [Fact]
    public async Task Concurrent_reads_of_one_chunk_are_merged_into_one_download()
    {
        await using var client = await TestClient.OpenAsync(fx.Nginx.Url, _cache);
        var img = await client.OpenImageAsync("os@1");
        byte[] expected = fx.Archive.Content("os", 1);
        int cs = img.Manifest.ChunkSize;
        long before = client.Http.Requests;
        // 32 small reads inside block 6 and 32 inside block 8, all at once.
        var reads = Enumerable.Range(0, 64).Select(i => (Offset: (i % 2 == 0 ? 6L : 8L) * cs + i * 512, Length: 700)).ToList();
        var results = await Task.WhenAll(reads.Select(r => Task.Run(() => TestClient.ReadAsync(img, r.Offset, r.Length))));
        for (int i = 0; i < reads.Count; i++)
            Assert.Equal(expected.AsSpan((int)reads[i].Offset, reads[i].Length).ToArray(), results[i]);
        Assert.Equal(2, client.Http.Requests - before);
        Assert.Equal(2, client.Fetcher.Fetched);
    }

    [Fact]
    public async Task Nginx_logged_exactly_the_chunk_requests_the_client_counted()
    {
        int logBefore = fx.Nginx.AccessLog.Count(l => l.Contains("/chunks/", StringComparison.Ordinal));
        await using var client = await TestClient.OpenAsync(fx.Nginx.Url, _cache);
        var img = await client.OpenImageAsync("tools@1");
        long before = client.Http.Requests;
        Assert.Equal(fx.Archive.Content("tools", 1), await TestClient.ReadAllAsync(img));
        int distinct = img.Manifest.Blocks.Where(b => !b.IsZero).Distinct().Count();
        Assert.Equal(distinct, client.Http.Requests - before);
        // nginx writes its access log line after answering: allow it a moment.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        int logged;
        while ((logged = fx.Nginx.AccessLog.Count(l => l.Contains("/chunks/", StringComparison.Ordinal)) - logBefore) < distinct && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(distinct, logged);
        Assert.All(fx.Nginx.AccessLog.Where(l => l.Contains("/chunks/", StringComparison.Ordinal)), l => Assert.Contains(" 200 ", l));
    }
}
