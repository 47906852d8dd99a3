using Circular.Core.Errors;
using Circular.Imaging.Images;

namespace Circular.Imaging.Tests;

public sealed class LocalImageFileTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task GetExtentsAsync_sparseFile_reportsWrittenRegionsAsData()
    {
        string path = _s["sparse.img"];
        const long size = 64L << 20;
        using (var h = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.SetLength(h, size);
            RandomAccess.Write(h, new byte[8192].Select(_ => (byte)1).ToArray(), 16L << 20);
            RandomAccess.Write(h, new byte[4096].Select(_ => (byte)2).ToArray(), size - 4096);
        }
        await using var img = LocalImageFile.Open(path);
        Assert.Equal(size, img.Size);
        var extents = await img.GetExtentsAsync(0, size, CancellationToken.None);
        long dataBytes = extents.Where(e => !e.IsZero).Sum(e => e.Length);
        Assert.InRange(dataBytes, 8192 + 4096, 4L << 20); // file systems may allocate a little more than written
        Assert.Contains(extents, e => !e.IsZero && e.Offset <= 16L << 20 && e.Offset + e.Length >= (16L << 20) + 8192);
        Assert.Contains(extents, e => !e.IsZero && e.Offset + e.Length == size);
        Assert.Equal(size, extents.Sum(e => e.Length));
        Assert.Equal(0, extents[0].Offset);
    }

    [Fact]
    public async Task ReadAsync_returnsFileBytes()
    {
        string path = _s["a.img"];
        var bytes = new byte[100_000];
        new Random(4).NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);
        await using var img = LocalImageFile.Open(path);
        var buf = new byte[1000];
        await img.ReadAsync(99_000, buf, CancellationToken.None);
        Assert.Equal(bytes[99_000..], buf);
    }

    [Fact]
    public void Open_missingFile_throwsNotFound()
    {
        Assert.Throws<NotFoundException>(() => LocalImageFile.Open(_s["nope.img"]));
    }

    [Fact]
    public void Open_directory_throwsUsage()
    {
        Assert.Throws<UsageException>(() => LocalImageFile.Open(_s.Dir));
    }
}
