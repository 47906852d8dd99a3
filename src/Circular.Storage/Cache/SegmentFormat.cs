using System.Buffers.Binary;

namespace Circular.Storage.Cache;

/// <summary>
/// The on-disk format of a cache segment (docs/cache.md "Segments", version 1), little-endian: a 16-byte file header
/// ("CIRCSEG\n", u32 version, u32 zero), then records, each a 16-byte header (u32 "CREC", u16 key length, u16 flags,
/// u32 data length, u32 FNV-1a of the header's first 12 bytes and the key), the key (the chunk's relative path, UTF-8)
/// and the data (the chunk file's bytes). The check covers only what locates records: the data is verified on every
/// read against what the manifest says, like any other copy of a chunk.
/// </summary>
public static class SegmentFormat
{
    public const int Version = 1;
    public const int FileHeaderLength = 16;
    public const int RecordHeaderLength = 16;
    public const int MaxKeyLength = 512;
    /// <summary>Flag of a record dropped as damaged: scanners skip it, its data is a hole.</summary>
    public const ushort Dead = 1;
    private const uint RecordMagic = 0x43455243; // "CREC"
    private static ReadOnlySpan<byte> FileMagic => "CIRCSEG\n"u8;

    public static void WriteFileHeader(Span<byte> dest)
    {
        FileMagic.CopyTo(dest);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[12..], 0);
    }

    /// <summary>-1 when this is no segment file (or a torn one whose header never reached the disk), else its version.</summary>
    public static int FileVersion(ReadOnlySpan<byte> header) =>
        header.Length >= FileHeaderLength && header[..8].SequenceEqual(FileMagic) ? (int)BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) : -1;

    /// <summary>Writes a record's header and key into <paramref name="dest"/>; returns their length.</summary>
    public static int WriteRecordHeader(Span<byte> dest, ReadOnlySpan<byte> key, int dataLength, ushort flags = 0)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dest, RecordMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[4..], (ushort)key.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[8..], (uint)dataLength);
        key.CopyTo(dest[RecordHeaderLength..]);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[12..], Check(dest[..12], key));
        return RecordHeaderLength + key.Length;
    }

    /// <summary>
    /// Parses the record header at the start of <paramref name="src"/> (which holds at least its key): false for
    /// anything that is not a whole, intact header — the end of the valid records (a torn tail, or a record another
    /// process is still writing).
    /// </summary>
    public static bool TryParseRecord(ReadOnlySpan<byte> src, long maxDataLength, out int keyLength, out int dataLength, out ushort flags)
    {
        keyLength = dataLength = 0;
        flags = 0;
        if (src.Length < RecordHeaderLength || BinaryPrimitives.ReadUInt32LittleEndian(src) != RecordMagic) return false;
        int key = BinaryPrimitives.ReadUInt16LittleEndian(src[4..]);
        uint data = BinaryPrimitives.ReadUInt32LittleEndian(src[8..]);
        if (key is 0 or > MaxKeyLength || data > maxDataLength || src.Length < RecordHeaderLength + key) return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[12..]) != Check(src[..12], src.Slice(RecordHeaderLength, key))) return false;
        keyLength = key;
        dataLength = (int)data;
        flags = BinaryPrimitives.ReadUInt16LittleEndian(src[6..]);
        return true;
    }

    private static uint Check(ReadOnlySpan<byte> head, ReadOnlySpan<byte> key)
    {
        uint h = 2166136261;
        foreach (byte b in head) h = (h ^ b) * 16777619;
        foreach (byte b in key) h = (h ^ b) * 16777619;
        return h;
    }
}
