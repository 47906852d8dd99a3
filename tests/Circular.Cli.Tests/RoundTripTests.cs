using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>push then cat gives back the exact bytes, for every chunk size, both chunkings and both codecs.</summary>
public abstract class RoundTripTests(Scratch scratch)
{
    public static TheoryData<string, string> ChunkSizesAndCodecs() => SizesAndCodecs("64K", "256K", "1M", "4M");

    /// <summary>Content chunks: averages (the cutter's range is 16K to 1M).</summary>
    public static TheoryData<string, string> ContentAveragesAndCodecs() => SizesAndCodecs("16K", "64K", "1M");

    private static TheoryData<string, string> SizesAndCodecs(params string[] sizes)
    {
        var d = new TheoryData<string, string>();
        foreach (var size in sizes)
            foreach (var codec in new[] { "zstd", "zlib" }) d.Add(size, codec);
        return d;
    }

    protected Scratch Scratch => scratch;

    /// <summary>Creates the image under test at the given path and returns the path.</summary>
    protected abstract string Build(string path);

    protected string Image => scratch.Once("image", Build);

    [Theory]
    [MemberData(nameof(ChunkSizesAndCodecs))]
    public async Task PushThenCat_anyChunkSizeAndCodec_isByteExact(string chunkSize, string codec)
    {
        string archive = await SharedArchiveAsync(codec);
        string name = $"img-{chunkSize}-{codec}";
        string output = scratch[$"out-{chunkSize}-{codec}"];

        var pushed = await PushOutput.PushAsync(archive, name, Image, "--chunk-size", chunkSize, "--codec", codec);
        (await CircularCli.RunAsync("cat", archive, name, "-o", output)).Ok();

        Files.AssertSameBytes(Image, output);
        long cs = Core.Chunks.ByteSize.Parse(chunkSize);
        long size = new FileInfo(Image).Length;
        Assert.Equal((size + cs - 1) / cs, pushed.Total);
        Assert.Equal(pushed.Total, pushed.New + pushed.Reused + pushed.Zero);
        Assert.Equal(pushed.New, RefsFile.Version(archive, name, 1).GetProperty("addedChunks").GetInt64());
        CheckCatOutput(output, pushed, cs);
        File.Delete(output);
        AssertChunksUse(archive, codec);
    }

    [Theory]
    [MemberData(nameof(ContentAveragesAndCodecs))]
    public async Task PushThenCat_contentChunksOfAnyAverageAndCodec_isByteExact(string average, string codec)
    {
        string archive = await SharedArchiveAsync(codec);
        string name = $"content-{average}-{codec}";
        string output = scratch[$"out-content-{average}-{codec}"];

        var pushed = await PushOutput.PushAsync(archive, name, Image, "--chunking", "content", "--chunk-size", average, "--codec", codec);
        (await CircularCli.RunAsync("cat", archive, name, "-o", output)).Ok();

        Files.AssertSameBytes(Image, output);
        var entry = RefsFile.Version(archive, name, 1);
        Assert.Equal("content", entry.GetProperty("chunking").GetString());
        Assert.Equal(pushed.Total, pushed.New + pushed.Reused + pushed.Zero);
        Assert.Equal(pushed.New, entry.GetProperty("addedChunks").GetInt64());
        // Chunks are at most four times the average long.
        CheckCatOutput(output, pushed, 4 * Core.Chunks.ByteSize.Parse(average), content: true);
        File.Delete(output);
        AssertChunksUse(archive, codec);
    }

    /// <summary>Every chunk file is in the chosen codec, or stored (codec none) where compression did not help.</summary>
    private static void AssertChunksUse(string archive, string codec)
    {
        byte expected = (byte)Core.Chunks.ChunkCodecNames.Parse(codec);
        var codecs = Directory.GetFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories)
            .Select(f => { using var fs = File.OpenRead(f); var h = new byte[6]; fs.ReadExactly(h); return h[5]; }).ToList();
        Assert.All(codecs, c => Assert.True(c == expected || c == 0, $"chunk in codec {c} in the {codec} archive"));
    }

    /// <summary>One archive per codec for the class: each chunk size pushes its own image name into it.</summary>
    private async Task<string> SharedArchiveAsync(string codec)
    {
        string a = scratch["archive-" + codec];
        await s_init.WaitAsync();
        try
        {
            if (!Directory.Exists(a)) await scratch.InitArchiveAsync("archive-" + codec);
        }
        finally { s_init.Release(); }
        return a;
    }

    private static readonly SemaphoreSlim s_init = new(1);

    /// <summary>Checks particular to the image; <paramref name="chunkSize"/> bounds a chunk's length.</summary>
    protected virtual void CheckCatOutput(string output, PushOutput pushed, long chunkSize, bool content = false) { }
}

public sealed class RandomImageRoundTripTests(Scratch s) : RoundTripTests(s), IClassFixture<Scratch>
{
    /// <summary>5 MiB and 12345 bytes: not a multiple of any chunk size, so the last block is short.</summary>
    protected override string Build(string path) => RandomData.WriteFile(path, (5 << 20) + 12345, seed: 1);

    [Fact]
    public async Task CatToStdout_isByteExact()
    {
        string archive = await Scratch.InitArchiveAsync("stdout");
        await PushOutput.PushAsync(archive, "img", Image);
        var r = CircularCli.StartInfo(["cat", archive, "img"]);
        using var p = System.Diagnostics.Process.Start(r)!;
        p.StandardInput.Close();
        _ = p.StandardError.ReadToEndAsync();
        using var ms = new MemoryStream();
        await p.StandardOutput.BaseStream.CopyToAsync(ms);
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(await File.ReadAllBytesAsync(Image), ms.ToArray());
    }
}

public sealed class SparseImageRoundTripTests(Scratch s) : RoundTripTests(s), IClassFixture<Scratch>
{
    private const long Size = (40L << 20) + 3 * 4096 + 100;

    /// <summary>40 MiB of holes with three written regions (one straddling a 64K boundary) and an odd size.</summary>
    protected override string Build(string path) =>
        TestImages.Sparse(path, Size, (4096, 8192), ((17L << 20) - 1000, 70_000), (Size - 5000, 5000));

    protected override void CheckCatOutput(string output, PushOutput pushed, long chunkSize, bool content = false)
    {
        // Fixed blocks: most are zero. Content chunks: the two long holes between the three data regions are one zero
        // run each (the first page's hole is too short to be one: runs start at 16 zero pages).
        if (content) Assert.True(pushed.Zero == 2, $"expected the two holes as zero runs, got {pushed.Zero} of {pushed.Total}");
        else Assert.True(pushed.Zero > pushed.Total / 2, $"expected mostly zero blocks, got {pushed.Zero} of {pushed.Total}");
        // Zero blocks become holes; data blocks are written whole, so at most that many chunk sizes get allocated.
        long dataBlocks = pushed.Total - pushed.Zero;
        long allocated = Files.AllocatedBytes(output);
        Assert.True(allocated <= dataBlocks * chunkSize + 65536 && allocated < Size / 4,
            $"cat output is not sparse: {allocated} bytes allocated for a {Size}-byte image with {dataBlocks} data blocks");
    }

    [Fact]
    public async Task Push_sparseImage_storesOnlyBlocksWithData()
    {
        string archive = await Scratch.InitArchiveAsync("few");
        var pushed = await PushOutput.PushAsync(archive, "img", Image, "--chunk-size", "64K");
        // Regions: block 0; blocks 271-273 (70,000 bytes starting 1000 bytes before block 272); the last block.
        Assert.Equal(5, pushed.New);
        Assert.Equal(pushed.Total - 5, pushed.Zero);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(archive, "chunks"), "*", SearchOption.AllDirectories).Length);
    }
}

public sealed class Ext4ImageRoundTripTests(Scratch s) : RoundTripTests(s), IClassFixture<Scratch>
{
    protected override string Build(string path) =>
        TestImages.Ext4(path, TestImages.Tree(path + ".d", 6 << 20, seed: 3), "24M");

    protected override void CheckCatOutput(string output, PushOutput pushed, long chunkSize, bool content = false) =>
        Assert.True(pushed.Zero > 0 && pushed.Total - pushed.Zero > 6 * (1 << 20) / chunkSize, $"unexpected block counts: {pushed}");
}
