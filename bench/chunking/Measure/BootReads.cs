using System.Globalization;
using System.Text.Json;
using Circular.Core.Chunks;

/// <summary>
/// The changed data a boot of NEW reads (its profile's pages that appear nowhere in OLD), against what a client that
/// holds OLD's chunks fetches under each chunking (the chunks of NEW the boot touches that OLD lacks).
/// </summary>
internal static class BootReads
{
    private const int Page = 4096;

    public static int Report(string oldImage, string newImage, string profile, string[] configs,
        Func<string, string, List<(ChunkId Id, long Offset, long Length, long Stored, bool Zero)>> pieces)
    {
        var ranges = Ranges(profile);
        long readBytes = ranges.Sum(r => r.Length);
        var oldPages = PageHashes(oldImage);
        using var file = File.OpenHandle(newImage);
        var changed = new MemoryStream();
        byte[] page = new byte[Page];
        foreach (var (offset, length) in ranges)
            for (long o = offset; o < offset + length; o += Page)
            {
                int n = RandomAccess.Read(file, page, o);
                if (n < Page) Array.Clear(page, n, Page - n);
                if (page.AsSpan().IndexOfAnyExcept((byte)0) < 0 || oldPages.Contains(Hash(page))) continue;
                changed.Write(page);
            }
        byte[] all = changed.ToArray();
        long stored = Compress(all);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"boot reads {readBytes / 1048576.0:0.0} MiB; changed pages among them {all.Length / 1048576.0:0.00} MiB raw, {stored / 1048576.0:0.00} MiB zstd-3"));
        Console.WriteLine("chunking        new chunks read  their stored MiB  x changed zstd");
        foreach (string config in configs)
        {
            var old = pieces(oldImage, config).Where(p => !p.Zero).Select(p => p.Id).ToHashSet();
            var fresh = pieces(newImage, config).Where(p => !p.Zero && !old.Contains(p.Id)).ToList();
            var touched = new Dictionary<ChunkId, long>();
            foreach (var p in fresh)
                if (ranges.Any(r => r.Offset < p.Offset + p.Length && p.Offset < r.Offset + r.Length)) touched[p.Id] = p.Stored;
            long bytes = touched.Values.Sum();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{config,-15} {touched.Count,15}  {bytes / 1048576.0,16:0.00}  {(double)bytes / Math.Max(1, stored),14:0.00}"));
        }
        return 0;
    }

    private static List<(long Offset, long Length)> Ranges(string profile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(profile));
        return [.. doc.RootElement.GetProperty("reads").EnumerateArray().Select(e => (e[1].GetInt64(), e[2].GetInt64()))];
    }

    private static HashSet<UInt128> PageHashes(string image)
    {
        var set = new HashSet<UInt128>();
        using var file = File.OpenHandle(image);
        long length = RandomAccess.GetLength(file);
        byte[] buf = new byte[8 << 20];
        for (long o = 0; o < length; o += buf.Length)
        {
            int n = RandomAccess.Read(file, buf, o);
            for (int i = 0; i + Page <= n; i += Page) set.Add(Hash(buf.AsSpan(i, Page)));
        }
        return set;
    }

    private static UInt128 Hash(ReadOnlySpan<byte> page) => System.IO.Hashing.XxHash128.HashToUInt128(page);

    private static long Compress(byte[] data)
    {
        if (data.Length == 0) return 0;
        long total = 0;
        byte[] outBuf = new byte[ChunkFile.MaxEncodedLength(ChunkFile.MaxChunkLength)];
        for (int o = 0; o < data.Length; o += ChunkFile.MaxChunkLength)
        {
            int n = Math.Min(ChunkFile.MaxChunkLength, data.Length - o);
            total += ChunkFile.Encode(data.AsSpan(o, n), ChunkCodec.Zstd, 3, outBuf);
        }
        return total;
    }
}
