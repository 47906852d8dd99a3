using System.Buffers.Binary;
using System.Text;

namespace Circular.Boot.Media;

/// <summary>What an x86 Linux kernel image (bzImage) says about itself in its boot protocol header.</summary>
public static class KernelImage
{
    /// <summary>
    /// The kernel's release ("6.1.0-57-amd64"), from the version string its setup header points at (boot protocol 2.00+:
    /// "HdrS" at 0x202, the string's offset from 0x200 at 0x20e); null when the file is no bzImage.
    /// </summary>
    public static string? Release(ReadOnlySpan<byte> image)
    {
        if (image.Length < 0x210 || !image.Slice(0x202, 4).SequenceEqual("HdrS"u8)) return null;
        int at = BinaryPrimitives.ReadUInt16LittleEndian(image[0x20e..]) + 0x200;
        if (at >= image.Length) return null;
        var rest = image[at..];
        int end = rest.IndexOfAny((byte)' ', (byte)0);
        return end <= 0 ? null : Encoding.ASCII.GetString(rest[..end]);
    }

    public static string? Release(string path)
    {
        using var f = File.OpenRead(path);
        var head = new byte[(int)Math.Min(f.Length, 64 << 10)];
        f.ReadExactly(head);
        return Release(head);
    }
}
