namespace Circular.Core.Chunks;

/// <summary>How a chunk file's payload is compressed. The byte values are part of the on-disk format.</summary>
public enum ChunkCodec : byte
{
    /// <summary>Stored as is: used when compression would not make the chunk smaller.</summary>
    None = 0,
    Zstd = 1,
    Zlib = 2,
}

public static class ChunkCodecNames
{
    public static ChunkCodec Parse(string name) => name.ToLowerInvariant() switch {
        "zstd" => ChunkCodec.Zstd,
        "zlib" => ChunkCodec.Zlib,
        "none" => ChunkCodec.None,
        _ => throw new Errors.UsageException($"unknown codec '{name}' (choose zstd, zlib or none)"),
    };

    public static string Name(this ChunkCodec codec) => codec switch {
        ChunkCodec.Zstd => "zstd",
        ChunkCodec.Zlib => "zlib",
        ChunkCodec.None => "none",
        _ => $"codec-{(byte)codec}",
    };
}
