using System.Text;

namespace Circular.Server.Tests.Support;

/// <summary>
/// Deterministic image contents: random and compressible blocks, zero blocks, a repeated block and a short last
/// block, so reads cross every kind of block boundary.
/// </summary>
public static class ImageData
{
    /// <summary>os@1: 48 blocks plus 4321 bytes; every 5th block zero, block 7 repeats block 3.</summary>
    public static byte[] Os1(int cs)
    {
        var data = new byte[48L * cs + 4321];
        for (int b = 0; b * cs < data.Length; b++)
        {
            if (b % 5 == 4) continue; // zero block
            var span = data.AsSpan(b * cs, Math.Min(cs, data.Length - b * cs));
            Fill(span, b == 7 ? 3 : b);
        }
        return data;
    }

    /// <summary>os@2: os@1 with blocks 2 and 10 rewritten, block 11 zeroed and the last byte changed.</summary>
    public static byte[] Os2(byte[] os1, int cs)
    {
        var data = (byte[])os1.Clone();
        Fill(data.AsSpan(2 * cs, cs), 1002);
        Fill(data.AsSpan(10 * cs, cs), 1010);
        data.AsSpan(11 * cs, cs).Clear();
        data[^1] ^= 0x5a;
        return data;
    }

    /// <summary>tools@1: the first 16 blocks of os@1, then 8 blocks of its own.</summary>
    public static byte[] Tools(byte[] os1, int cs)
    {
        var data = new byte[24L * cs];
        os1.AsSpan(0, 16 * cs).CopyTo(data);
        for (int b = 16; b < 24; b++) Fill(data.AsSpan(b * cs, cs), 2000 + b);
        return data;
    }

    /// <summary>Random bytes for even seeds, compressible text for odd ones (so both zstd and stored chunks occur).</summary>
    public static void Fill(Span<byte> span, int seed)
    {
        var rng = new Random(seed);
        if (seed % 2 == 0)
        {
            rng.NextBytes(span);
            return;
        }
        var text = Encoding.ASCII.GetBytes($"block {seed}: the quick brown fox {rng.Next()} jumps over the lazy dog\n");
        for (int i = 0; i < span.Length; i += text.Length)
            text.AsSpan(0, Math.Min(text.Length, span.Length - i)).CopyTo(span[i..]);
    }

    /// <summary>Random bytes of a given length.</summary>
    public static byte[] Random(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }
}
