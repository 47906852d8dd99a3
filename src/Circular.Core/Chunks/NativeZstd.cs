using System.Runtime.InteropServices;

namespace Circular.Core.Chunks;

/// <summary>
/// zstd compression through the system's libzstd (Debian libzstd1) when it is installed: about twice as fast as the
/// managed ZstdSharp port on the push path, with the same frame format. <see cref="Available"/> is false when the
/// library cannot be loaded; callers then use ZstdSharp.
/// </summary>
public static partial class NativeZstd
{
    private const string Lib = "libzstd.so.1";

    [ThreadStatic] private static IntPtr t_cctx;

    public static bool Available { get; } = Probe();

    private static bool Probe()
    {
        try { return ZSTD_versionNumber() >= 10400; }
        catch (DllNotFoundException) { return false; }
        catch (EntryPointNotFoundException) { return false; }
    }

    /// <summary>Compresses into <paramref name="destination"/>; returns -1 when it does not fit or zstd reports an error.</summary>
    public static unsafe int Compress(ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        // One context per thread, kept for the thread's life (push threads are pool threads; a context is ~1 MB at level 3).
        if (t_cctx == IntPtr.Zero) t_cctx = ZSTD_createCCtx();
        if (t_cctx == IntPtr.Zero) return -1;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            nuint n = ZSTD_compressCCtx(t_cctx, dst, (nuint)destination.Length, src, (nuint)source.Length, level);
            return ZSTD_isError(n) != 0 ? -1 : (int)n;
        }
    }

    [ThreadStatic] private static IntPtr t_dctx;

    /// <summary>Decompresses one frame into <paramref name="destination"/>; returns -1 on any zstd error (corrupt input).</summary>
    public static unsafe int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // Decoding was the largest single cost of reading chunks with the managed port.
        if (t_dctx == IntPtr.Zero) t_dctx = ZSTD_createDCtx();
        if (t_dctx == IntPtr.Zero) return -1;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            nuint n = ZSTD_decompressDCtx(t_dctx, dst, (nuint)destination.Length, src, (nuint)source.Length);
            return ZSTD_isError(n) != 0 ? -1 : (int)n;
        }
    }

    [LibraryImport(Lib)] private static partial IntPtr ZSTD_createDCtx();
    [LibraryImport(Lib)] private static unsafe partial nuint ZSTD_decompressDCtx(IntPtr dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);
    [LibraryImport(Lib)] private static partial uint ZSTD_versionNumber();
    [LibraryImport(Lib)] private static partial IntPtr ZSTD_createCCtx();
    [LibraryImport(Lib)] private static unsafe partial nuint ZSTD_compressCCtx(IntPtr cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int level);
    [LibraryImport(Lib)] private static partial uint ZSTD_isError(nuint code);
}
