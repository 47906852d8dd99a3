using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.Manifests;

/// <summary>
/// One version of one image: the seed's "mapping table". Block i covers bytes
/// [i*ChunkSize, min((i+1)*ChunkSize, ImageSize)); a zero id means the block is all zeros.
/// The last block's chunk holds only the bytes inside the image (it may be short).
/// Binary layout in docs/format.md, "Manifests".
/// </summary>
public sealed partial class Manifest
{
    public const ushort FormatVersion = 1;
    private static ReadOnlySpan<byte> Magic => "CIRCMANF"u8;
    private const int FixedHeader = 36;
    /// <summary>Refuse absurd sizes before allocating: 2^42 bytes (4 TiB) at 64 KiB is 64 M blocks.</summary>
    public const long MaxBlocks = 1L << 26;
    /// <summary>Metadata (JSON: boot assets, message) is at most this long.</summary>
    public const int MaxMetadataLength = 16 << 20;

    /// <summary>The longest manifest file of <paramref name="blocks"/> blocks (null: of any valid size).</summary>
    public static long MaxFileLength(long? blocks) =>
        Math.Min(Array.MaxLength, Format2Header + MaxMetadataLength + Math.Clamp(blocks ?? MaxBlocks, 0, MaxBlocks) * Format2Entry + 32);

    public Manifest(ManifestMetadata metadata, int chunkSize, long imageSize, ChunkId[] blocks)
    {
        if (!ChunkSizes.IsValid(chunkSize)) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        if (blocks.LongLength != BlockCount(imageSize, chunkSize)) throw new ArgumentException("block count does not match the image size");
        Metadata = metadata;
        ChunkSize = chunkSize;
        ImageSize = imageSize;
        _blocks = blocks;
        Map = ChunkMap.Fixed(blocks, chunkSize, imageSize);
    }

    /// <summary>Where each chunk lies in the image (fixed blocks here; content-defined chunks in format 2).</summary>
    public ChunkMap Map { get; }

    public ManifestMetadata Metadata { get; }
    public int ChunkSize { get; }
    public long ImageSize { get; }
    private readonly ChunkId[]? _blocks;

    /// <summary>The ids of a fixed grid's blocks; content-defined chunks have no grid (use <see cref="Map"/>).</summary>
    public ChunkId[] Blocks => _blocks ?? throw new InvalidOperationException("a manifest of content-defined chunks has no block grid: read its Map");

    public static long BlockCount(long imageSize, int chunkSize) => (imageSize + chunkSize - 1) / chunkSize;

    /// <summary>Length of block <paramref name="index"/> (the last one may be short).</summary>
    public int BlockLength(long index) => (int)Math.Min(ChunkSize, ImageSize - index * ChunkSize);

    /// <summary>Every distinct chunk this version needs, boot assets included; zero blocks excluded.</summary>
    public IEnumerable<ChunkId> ReferencedChunks()
    {
        var seen = new HashSet<ChunkId>();
        for (int i = 0; i < Map.Count; i++) if (Map.Id(i) is { IsZero: false } b && seen.Add(b)) yield return b;
        foreach (var a in new[] { Metadata.Boot?.Kernel, Metadata.Boot?.Initrd })
            if (a is not null)
                foreach (var h in a.Chunks) { var id = ChunkId.Parse(h); if (seen.Add(id)) yield return id; }
    }

    public byte[] Serialize()
    {
        if (Version == 2) return SerializeFormat2();
        byte[] meta = JsonSerializer.SerializeToUtf8Bytes(Metadata, CompactFormatJson.Default.ManifestMetadata);
        long total = FixedHeader + meta.Length + (long)Blocks.Length * ChunkId.Size + 32;
        var buf = new byte[total];
        var s = buf.AsSpan();
        Magic.CopyTo(s);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(s[10..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], ChunkSize);
        BinaryPrimitives.WriteInt64LittleEndian(s[16..], ImageSize);
        BinaryPrimitives.WriteInt64LittleEndian(s[24..], Blocks.Length);
        BinaryPrimitives.WriteInt32LittleEndian(s[32..], meta.Length);
        meta.CopyTo(s[FixedHeader..]);
        int p = FixedHeader + meta.Length;
        foreach (var b in Blocks) { b.WriteTo(s[p..]); p += ChunkId.Size; }
        SHA256.HashData(s[..p], s[p..]);
        return buf;
    }

    /// <summary>The SHA-256 of the serialized manifest: what refs and signatures point at.</summary>
    public static string Digest(ReadOnlySpan<byte> serialized) => Convert.ToHexStringLower(SHA256.HashData(serialized));

    /// <summary>Parses and checks a manifest; <paramref name="what"/> names it in errors.</summary>
    public static Manifest Parse(ReadOnlySpan<byte> data, string what)
    {
        ArchiveFormatException Bad(string why) => new($"manifest {what} is corrupt or truncated: {why}");
        if (data.Length < FixedHeader + 32) throw Bad($"only {data.Length} bytes");
        if (!data[..8].SequenceEqual(Magic)) throw Bad("bad magic");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        if (version == 2) return ParseFormat2(data, what);
        if (version > NewestFormatVersion)
            throw new ArchiveFormatException($"manifest {what} has format version {version}, too new for this program (it reads versions 1 and {NewestFormatVersion}): upgrade circular");
        if (version != FormatVersion) throw new ArchiveFormatException($"manifest {what} has format version {version}; this program reads versions 1 and {NewestFormatVersion}");
        int chunkSize = BinaryPrimitives.ReadInt32LittleEndian(data[12..]);
        long imageSize = BinaryPrimitives.ReadInt64LittleEndian(data[16..]);
        long blocks = BinaryPrimitives.ReadInt64LittleEndian(data[24..]);
        int metaLen = BinaryPrimitives.ReadInt32LittleEndian(data[32..]);
        if (!ChunkSizes.IsValid(chunkSize)) throw Bad($"chunk size {chunkSize}");
        if (imageSize < 0 || blocks < 0 || blocks > MaxBlocks || blocks != BlockCount(imageSize, chunkSize)) throw Bad("size and block count disagree");
        if (metaLen < 0 || metaLen > MaxMetadataLength) throw Bad("metadata length");
        long expected = FixedHeader + (long)metaLen + blocks * ChunkId.Size + 32;
        if (data.Length != expected) throw Bad($"{data.Length} bytes, header implies {expected}");
        if (!TrailerMatches(data)) throw Bad("checksum mismatch");
        var meta = ParseMetadata(data.Slice(FixedHeader, metaLen), chunkSize, Bad);
        var ids = new ChunkId[blocks];
        int p = FixedHeader + metaLen;
        for (long i = 0; i < blocks; i++, p += ChunkId.Size) ids[i] = ChunkId.FromBytes(data.Slice(p, ChunkId.Size));
        return new Manifest(meta, chunkSize, imageSize, ids);
    }

    /// <summary>Both formats end with the SHA-256 of every byte before it.</summary>
    private static bool TrailerMatches(ReadOnlySpan<byte> data)
    {
        Span<byte> sum = stackalloc byte[32];
        SHA256.HashData(data[..^32], sum);
        return sum.SequenceEqual(data[^32..]);
    }

    private static ManifestMetadata ParseMetadata(ReadOnlySpan<byte> json, int assetBlockSize, Func<string, ArchiveFormatException> bad)
    {
        ManifestMetadata? meta;
        try { meta = JsonSerializer.Deserialize(json, CompactFormatJson.Default.ManifestMetadata); }
        catch (JsonException e) { throw bad("metadata: " + JsonErrors.Describe(e)); }
        if (meta is null || meta.Image is null) throw bad("no metadata");
        foreach (var asset in new[] { meta.Boot?.Kernel, meta.Boot?.Initrd })
            if (asset is not null && AssetProblem(asset, assetBlockSize) is { } why) throw bad("boot asset: " + why);
        return meta;
    }

    /// <summary>Boot assets are files of at most 1 GiB stored as whole chunks of the manifest's chunk size.</summary>
    private static string? AssetProblem(AssetRef a, int chunkSize)
    {
        if (a.Size < 0 || a.Size > 1L << 30) return $"size {a.Size} out of range";
        if (a.Chunks is null || a.Chunks.LongLength != BlockCount(a.Size, chunkSize)) return "chunk list does not match its size";
        foreach (var h in a.Chunks)
            if (h is null || !ChunkId.TryParse(h, out _)) return "malformed chunk id";
        return null;
    }
}
