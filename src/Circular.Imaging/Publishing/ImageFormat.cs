using System.Buffers.Binary;
using System.Diagnostics;
using Circular.Core.Errors;

namespace Circular.Imaging.Publishing;

/// <summary>
/// Recognises virtual-disk container formats by their magic so push can read them through qemu-img
/// instead of storing the container bytes.
/// </summary>
public static class ImageFormat
{
    /// <summary>"QFI\xfb". Not a u8 string literal: in one, "\xfb" is the character U+00FB, encoded as two bytes.</summary>
    private static ReadOnlySpan<byte> Qcow2Magic => [0x51, 0x46, 0x49, 0xfb];

    /// <summary>"raw" or a qemu-img format name (qcow2, vmdk, vdi, vhdx).</summary>
    public static string Detect(string path)
    {
        if (!File.Exists(path)) return "raw"; // block devices and missing files are handled by the opener
        Span<byte> head = stackalloc byte[512];
        int n;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (UnauthorizedAccessException) { throw new CircularException($"image {path} is not readable (permission denied)"); }
        head = head[..n];
        if (n >= 4 && head[..4].SequenceEqual(Qcow2Magic)) return "qcow2";
        if (n >= 4 && head[..4].SequenceEqual("KDMV"u8)) return "vmdk";
        if (n >= 8 && head[..8].SequenceEqual("vhdxfile"u8)) return "vhdx";
        if (n >= 0x44 && BinaryPrimitives.ReadUInt32LittleEndian(head[0x40..]) == 0xbeda107f) return "vdi";
        return "raw";
    }

    /// <summary>Converts a container image to a sparse raw file with qemu-img.</summary>
    public static async Task ConvertToRawAsync(string path, string format, string output, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("qemu-img") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "convert", "-f", format, "-O", "raw", "-S", "4k", path, output }) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new CircularException($"{path} is a {format} image; reading it needs qemu-img (apt-get install qemu-utils)"); }
        using (p)
        {
            string err = await p.StandardError.ReadToEndAsync(ct).ConfigureAwait(false);
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
            if (p.ExitCode != 0) throw new CircularException($"qemu-img could not read {path}: {err.Trim()}");
        }
    }
}
