using System.Buffers.Binary;
using System.IO.Compression;
using Circular.Core.Errors;
using ZstdSharp;

namespace Circular.Core.Chunks;

/// <summary>
/// The chunk file format (docs/format.md, "Chunk files"): a 12-byte header then the payload.
/// <code>
///  0  4  magic "CCHK"
///  4  1  format version (1)
///  5  1  codec (0 none, 1 zstd, 2 zlib)
///  6  2  reserved, zero
///  8  4  uncompressed length, little-endian
/// 12  …  payload
/// </code>
/// </summary>
public static class ChunkFile
{
    public const int HeaderSize = 12;
    public const byte FormatVersion = 1;
    /// <summary>Largest chunk the format allows (the largest chunk size, 4 MiB).</summary>
    public const int MaxChunkLength = 4 << 20;
    private static ReadOnlySpan<byte> Magic => "CCHK"u8;

    [ThreadStatic] private static Compressor? t_zstd;
    [ThreadStatic] private static int t_zstdLevel;
    [ThreadStatic] private static Decompressor? t_unzstd;

    /// <summary>An upper bound on the encoded size of <paramref name="rawLength"/> bytes in any codec.</summary>
    public static int MaxEncodedLength(int rawLength) =>
        HeaderSize + Math.Max(Compressor.GetCompressBound(rawLength), rawLength + rawLength / 100 + 1024);

    /// <summary>
    /// Encodes raw chunk bytes. Falls back to <see cref="ChunkCodec.None"/> when compression does not help,
    /// so incompressible data costs 12 bytes, not more. Returns the encoded length.
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> raw, ChunkCodec codec, int level, Span<byte> destination)
    {
        if (raw.Length > MaxChunkLength) throw new ArgumentOutOfRangeException(nameof(raw), "chunk larger than 4 MiB");
        var payload = destination[HeaderSize..];
        int written = -1;
        switch (codec)
        {
            case ChunkCodec.Zstd when NativeZstd.Available:
                written = NativeZstd.Compress(raw, payload, level);
                break;
            case ChunkCodec.Zstd:
                if (t_zstd is null || t_zstdLevel != level) { t_zstd?.Dispose(); t_zstd = new Compressor(level); t_zstdLevel = level; }
                written = t_zstd.Wrap(raw, payload);
                break;
            case ChunkCodec.Zlib:
                written = ZlibCompress(raw, payload, level);
                break;
        }
        if (written < 0 || written >= raw.Length)
        {
            codec = ChunkCodec.None;
            raw.CopyTo(payload);
            written = raw.Length;
        }
        Magic.CopyTo(destination);
        destination[4] = FormatVersion;
        destination[5] = (byte)codec;
        destination[6] = 0;
        destination[7] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], raw.Length);
        return HeaderSize + written;
    }

    /// <summary>The uncompressed length a chunk file declares, after checking its header.</summary>
    public static int DeclaredLength(ReadOnlySpan<byte> file)
    {
        if (file.Length < HeaderSize || !file[..4].SequenceEqual(Magic)) throw new InvalidDataException("not a chunk file (bad magic)");
        if (file[4] != FormatVersion) throw new InvalidDataException($"chunk format version {file[4]} is not supported");
        int len = BinaryPrimitives.ReadInt32LittleEndian(file[8..]);
        if (len < 0 || len > MaxChunkLength) throw new InvalidDataException($"declared length {len} out of range");
        return len;
    }

    /// <summary>Decodes a chunk file into <paramref name="destination"/>. Throws InvalidDataException on malformed input.</summary>
    public static int Decode(ReadOnlySpan<byte> file, Span<byte> destination)
    {
        int len = DeclaredLength(file);
        if (destination.Length < len) throw new ArgumentException("destination too small", nameof(destination));
        var payload = file[HeaderSize..];
        var dest = destination[..len];
        // An empty payload has no address: pinned, it is a null pointer, which the native decoders must never see
        // (found by fuzzing: zlib read through it). A compressed chunk of any length has at least a frame header.
        if (payload.IsEmpty && (ChunkCodec)file[5] != ChunkCodec.None)
            throw new InvalidDataException(len == 0 ? "compressed chunk with no payload" : $"no payload for {len} declared bytes");
        int got;
        switch ((ChunkCodec)file[5])
        {
            case ChunkCodec.None:
                if (payload.Length != len) throw new InvalidDataException("stored payload length differs from the declared length");
                payload.CopyTo(dest);
                got = len;
                break;
            case ChunkCodec.Zstd:
                if (NativeZstd.Available)
                {
                    got = NativeZstd.Decompress(payload, dest);
                    if (got < 0) throw new InvalidDataException("zstd: corrupt frame or larger than declared");
                    break;
                }
                t_unzstd ??= new Decompressor();
                try { got = t_unzstd.Unwrap(payload, dest); }
                catch (ZstdException e) { throw new InvalidDataException("zstd: " + e.Message, e); }
                break;
            case ChunkCodec.Zlib:
                got = ZlibDecompress(payload, dest);
                break;
            default:
                throw new InvalidDataException($"unknown codec {file[5]}");
        }
        if (got != len) throw new InvalidDataException($"decoded {got} bytes, header says {len}");
        return len;
    }

    /// <summary>Decodes and checks that the bytes hash to <paramref name="id"/>; never returns unverified data.</summary>
    public static int DecodeVerified(ChunkId id, string source, ReadOnlySpan<byte> file, Span<byte> destination)
    {
        int len;
        try { len = Decode(file, destination); }
        catch (InvalidDataException e) { throw new ChunkIntegrityException(id, source, e.Message); }
        CheckContent(id, source, destination[..len]);
        return len;
    }

    /// <summary>
    /// Verifies what was received rather than what it decodes to: a file whose SHA-256 is the manifest's stored digest
    /// is the very file the writer checked against the id, so it is decoded without hashing the content. Any other file
    /// (no stored digest known, or a chunk stored since with another codec or level) is decoded and its content
    /// hashed, as <see cref="DecodeVerified"/> does. Never returns unverified data.
    /// </summary>
    public static int DecodeStored(ChunkRef chunk, string source, ReadOnlySpan<byte> file, Span<byte> destination)
    {
        if (!chunk.HasStored || ChunkId.Compute(file) != chunk.Stored) return DecodeVerified(chunk.Id, source, file, destination);
        try { return Decode(file, destination); }
        catch (InvalidDataException e) { throw new ChunkIntegrityException(chunk.Id, source, e.Message); }
    }

    /// <summary>Throws unless <paramref name="content"/> (a decoded chunk) hashes to <paramref name="id"/>.</summary>
    public static void CheckContent(ChunkId id, string source, ReadOnlySpan<byte> content)
    {
        var got = ChunkId.Compute(content);
        if (got != id) throw new ChunkIntegrityException(id, source, $"content hashes to {got.Short}");
    }

    private static unsafe int ZlibCompress(ReadOnlySpan<byte> raw, Span<byte> payload, int level)
    {
        fixed (byte* p = payload)
        {
            using var ms = new UnmanagedMemoryStream(p, 0, payload.Length, FileAccess.Write);
            var cl = level <= 1 ? CompressionLevel.Fastest : level >= 9 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal;
            try
            {
                using (var z = new ZLibStream(ms, cl, leaveOpen: true)) z.Write(raw);
            }
            catch (NotSupportedException) { return -1; } // output would exceed the buffer: store raw instead
            catch (IOException) { return -1; }
            return (int)ms.Position;
        }
    }

    private static unsafe int ZlibDecompress(ReadOnlySpan<byte> payload, Span<byte> dest)
    {
        fixed (byte* p = payload)
        {
            using var ms = new UnmanagedMemoryStream(p, payload.Length);
            try
            {
                using var z = new ZLibStream(ms, CompressionMode.Decompress);
                int total = 0;
                while (total < dest.Length)
                {
                    int n = z.Read(dest[total..]);
                    if (n == 0) break;
                    total += n;
                }
                if (z.Read(stackalloc byte[1]) != 0) throw new InvalidDataException("zlib payload longer than declared");
                return total;
            }
            catch (InvalidDataException) { throw; }
            catch (Exception e) when (e is IOException or NotSupportedException) { throw new InvalidDataException("zlib: " + e.Message, e); }
        }
    }
}
