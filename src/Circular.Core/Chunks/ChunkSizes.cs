using System.Globalization;
using Circular.Core.Errors;

namespace Circular.Core.Chunks;

/// <summary>Chunk sizes are powers of two from 64 KiB to 4 MiB; 256 KiB as in the seed.</summary>
public static class ChunkSizes
{
    public const int Default = 256 * 1024;
    public const int Min = 64 * 1024;
    public const int Max = 4 * 1024 * 1024;

    public static bool IsValid(int size) => size >= Min && size <= Max && (size & (size - 1)) == 0;

    public static int ParseChunkSize(string text)
    {
        long v = ByteSize.Parse(text);
        if (v > int.MaxValue || !IsValid((int)v))
            throw new UsageException($"chunk size '{text}' must be a power of two from 64K to 4M");
        return (int)v;
    }
}

/// <summary>Parses and prints sizes like 256K, 1.5G (binary multiples).</summary>
public static class ByteSize
{
    public static long Parse(string text)
    {
        string t = text.Trim();
        long mult = 1;
        if (t.Length > 0)
        {
            string u = t.ToUpperInvariant();
            if (u.EndsWith("IB")) u = u[..^2];
            else if (u.EndsWith('B')) u = u[..^1];
            char last = u.Length > 0 ? u[^1] : ' ';
            mult = last switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 1 };
            t = mult == 1 ? u : u[..^1];
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || n < 0 || double.IsInfinity(n))
            throw new UsageException($"not a size: '{text}' (examples: 4096, 256K, 2G)");
        return checked((long)(n * mult));
    }

    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int i = 0;
        while (Math.Abs(v) >= 1024 && i < units.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.0} {units[i]}");
    }
}
