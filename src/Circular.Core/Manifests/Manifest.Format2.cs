using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.Manifests;

/// <summary>How a version was cut into chunks.</summary>
public enum Chunking : byte
{
    /// <summary>Blocks of the chunk size from offset 0 (format 1, and format 2 with this kind).</summary>
    Fixed = 0,
    /// <summary>Content-defined chunks on the 4 KiB page grid, the chunk size their average (docs/chunking.md).</summary>
    Content = 1,
}

/// <summary>
/// Format 2 (docs/format.md, "Manifests, format 2"): a list of entries, each its end offset, its chunk id and the
/// SHA-256 of its stored chunk file, so chunks may have any length and a reader can check a chunk file as received.
/// </summary>
public sealed partial class Manifest
{
    public const ushort NewestFormatVersion = 2;
    private const int Format2Header = 48;
    /// <summary>An entry: u64 end offset, the chunk id, the stored file's SHA-256.</summary>
    private const int Format2Entry = 8 + ChunkId.Size + ChunkId.Size;
    /// <summary>Boot assets of content-chunked versions are stored in blocks of this size.</summary>
    public const int ContentAssetBlockSize = ChunkSizes.Default;

    /// <summary>A format 2 manifest: <paramref name="map"/> must carry the stored files' digests.</summary>
    public Manifest(ManifestMetadata metadata, Chunking chunking, int chunkSize, ChunkMap map)
    {
        if (!map.HasStoredDigests) throw new ArgumentException("format 2 records each stored chunk file's digest", nameof(map));
        if (chunking == Chunking.Fixed && !(ChunkSizes.IsValid(chunkSize) && map.IsGrid && map.GridSize == chunkSize))
            throw new ArgumentException("fixed chunking needs a grid of a valid chunk size", nameof(map));
        if (chunking == Chunking.Content && !ContentBoundaries.IsValidAverage(chunkSize)) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        if (chunking is not (Chunking.Fixed or Chunking.Content)) throw new ArgumentOutOfRangeException(nameof(chunking));
        Metadata = metadata;
        Chunking = chunking;
        ChunkSize = chunkSize;
        ImageSize = map.ImageSize;
        Map = map;
        Version = 2;
        if (map.IsGrid) _blocks = map.Ids.ToArray();
    }

    /// <summary>The manifest format this version is written in: 1 (fixed blocks only) or 2.</summary>
    public int Version { get; } = 1;
    public Chunking Chunking { get; }
    /// <summary>The block size boot assets are stored in.</summary>
    public int AssetBlockSize => Chunking == Chunking.Content ? ContentAssetBlockSize : ChunkSize;

    private byte[] SerializeFormat2()
    {
        byte[] meta = JsonSerializer.SerializeToUtf8Bytes(Metadata, CompactFormatJson.Default.ManifestMetadata);
        long total = Format2Header + meta.Length + (long)Map.Count * Format2Entry + 32;
        var buf = new byte[total];
        var s = buf.AsSpan();
        Magic.CopyTo(s);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], 2);
        s[12] = (byte)Chunking;
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], ChunkSize);
        BinaryPrimitives.WriteInt64LittleEndian(s[24..], ImageSize);
        BinaryPrimitives.WriteInt64LittleEndian(s[32..], Map.Count);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], meta.Length);
        meta.CopyTo(s[Format2Header..]);
        int p = Format2Header + meta.Length;
        for (int i = 0; i < Map.Count; i++, p += Format2Entry)
        {
            BinaryPrimitives.WriteInt64LittleEndian(s[p..], Map.End(i));
            Map.Id(i).WriteTo(s[(p + 8)..]);
            Map.StoredDigest(i).WriteTo(s[(p + 8 + ChunkId.Size)..]);
        }
        SHA256.HashData(s[..p], s[p..]);
        return buf;
    }

    private static Manifest ParseFormat2(ReadOnlySpan<byte> data, string what)
    {
        ArchiveFormatException Bad(string why) => new($"manifest {what} is corrupt or truncated: {why}");
        if (data.Length < Format2Header + 32) throw Bad($"only {data.Length} bytes");
        if (BinaryPrimitives.ReadUInt16LittleEndian(data[10..]) != 0 || data[13] != 0 || data[14] != 0 || data[15] != 0
            || BinaryPrimitives.ReadInt32LittleEndian(data[20..]) != 0 || BinaryPrimitives.ReadInt32LittleEndian(data[44..]) != 0)
            throw Bad("reserved header fields are not zero");
        var chunking = (Chunking)data[12];
        int chunkSize = BinaryPrimitives.ReadInt32LittleEndian(data[16..]);
        long imageSize = BinaryPrimitives.ReadInt64LittleEndian(data[24..]);
        long count = BinaryPrimitives.ReadInt64LittleEndian(data[32..]);
        int metaLen = BinaryPrimitives.ReadInt32LittleEndian(data[40..]);
        bool validSize = chunking switch {
            Chunking.Fixed => ChunkSizes.IsValid(chunkSize),
            Chunking.Content => ContentBoundaries.IsValidAverage(chunkSize),
            _ => throw Bad($"unknown chunking {(byte)chunking}"),
        };
        if (!validSize) throw Bad($"chunk size {chunkSize}");
        if (imageSize < 0 || count < 0 || count > MaxBlocks || (count == 0) != (imageSize == 0)) throw Bad("size and entry count disagree");
        if (chunking == Chunking.Fixed && count != BlockCount(imageSize, chunkSize)) throw Bad("size and block count disagree");
        if (metaLen < 0 || metaLen > MaxMetadataLength) throw Bad("metadata length");
        long expected = Format2Header + (long)metaLen + count * Format2Entry + 32;
        if (data.Length != expected) throw Bad($"{data.Length} bytes, header implies {expected}");
        if (!TrailerMatches(data)) throw Bad("checksum mismatch");
        var meta = ParseMetadata(data.Slice(Format2Header, metaLen), chunking == Chunking.Content ? ContentAssetBlockSize : chunkSize, Bad);

        var ids = new ChunkId[count];
        var stored = new ChunkId[count];
        var ends = new long[count];
        long previous = 0;
        int p = Format2Header + metaLen;
        for (long i = 0; i < count; i++, p += Format2Entry)
        {
            long end = BinaryPrimitives.ReadInt64LittleEndian(data[p..]);
            ids[i] = ChunkId.FromBytes(data.Slice(p + 8, ChunkId.Size));
            stored[i] = ChunkId.FromBytes(data.Slice(p + 8 + ChunkId.Size, ChunkId.Size));
            if (end <= previous || end > imageSize) throw Bad($"entry {i} ends at {end}, after {previous} and within {imageSize}");
            long length = end - previous;
            if (ids[i].IsZero != stored[i].IsZero) throw Bad($"entry {i}: a zero run has no stored file, a chunk has one");
            if (!ids[i].IsZero && length > ChunkFile.MaxChunkLength) throw Bad($"entry {i} is {length} bytes, more than a chunk holds");
            if (chunking == Chunking.Fixed && length != Math.Min(chunkSize, imageSize - i * (long)chunkSize)) throw Bad($"entry {i} is off the {chunkSize}-byte grid");
            ends[i] = previous = end;
        }
        if (previous != imageSize) throw Bad($"entries end at {previous}, the image at {imageSize}");
        var map = chunking == Chunking.Fixed ? ChunkMap.Fixed(ids, chunkSize, imageSize, stored) : ChunkMap.Variable(ids, ends, stored);
        return new Manifest(meta, chunking, chunkSize, map);
    }
}
