using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.Archive;

/// <summary>circular.json at the archive root: marks a directory as an archive and holds its defaults.</summary>
public sealed record ArchiveConfig
{
    public const string FormatName = "circular-archive";
    /// <summary>Format 2: manifests of format 2 (content-defined chunks, stored-file digests) may appear.</summary>
    public const int CurrentFormatVersion = 2;
    /// <summary>
    /// A circular.json without a version is format 1 (the first version always wrote one, so this is the library's
    /// default only); `circular init` writes <see cref="CurrentFormatVersion"/> unless asked for 1.
    /// </summary>
    public const int InitialFormatVersion = 1;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = InitialFormatVersion;
    [JsonPropertyName("chunkSize")] public int ChunkSize { get; init; } = Chunks.ChunkSizes.Default;
    [JsonPropertyName("codec")] public string Codec { get; init; } = "zstd";
    [JsonPropertyName("hash")] public string Hash { get; init; } = "sha256";
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, IndentedFormatJson.Default.ArchiveConfig);

    public static ArchiveConfig Parse(ReadOnlySpan<byte> json, string where)
    {
        ArchiveConfig? c;
        try { c = JsonSerializer.Deserialize(json, IndentedFormatJson.Default.ArchiveConfig); }
        catch (JsonException e) { throw new ArchiveFormatException($"{where} is not a Circular archive (circular.json: {JsonErrors.Describe(e)})"); }
        if (c is null || c.Format != FormatName) throw new ArchiveFormatException($"{where} is not a Circular archive (circular.json is not valid)");
        if (c.FormatVersion > CurrentFormatVersion)
            throw new ArchiveFormatException($"{where} has archive format version {c.FormatVersion}, too new for this program (it reads versions up to {CurrentFormatVersion}): upgrade circular");
        if (c.FormatVersion < 1)
            throw new ArchiveFormatException($"{where} has archive format version {c.FormatVersion}; this program reads versions 1 to {CurrentFormatVersion}");
        if (c.Hash != "sha256") throw new ArchiveFormatException($"{where} uses hash '{c.Hash}'; only sha256 is supported");
        if (!Chunks.ChunkSizes.IsValid(c.ChunkSize)) throw new ArchiveFormatException($"{where}: circular.json names chunk size {c.ChunkSize}, not a power of two from 64 KiB to 4 MiB");
        if (c.Codec is not ("zstd" or "zlib" or "none")) throw new ArchiveFormatException($"{where}: circular.json names an unknown codec '{c.Codec}'");
        return c;
    }
}

/// <summary>images.json at the archive root: the image names, so static HTTP servers need no directory listing.</summary>
public sealed record ImageIndex
{
    public const string FormatName = "circular-images";
    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = 1;
    [JsonPropertyName("images")] public List<string> Images { get; init; } = [];

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, IndentedFormatJson.Default.ImageIndex);

    public static ImageIndex Parse(ReadOnlySpan<byte> json, string where)
    {
        ImageIndex? i;
        try { i = JsonSerializer.Deserialize(json, IndentedFormatJson.Default.ImageIndex); }
        catch (JsonException e) { throw new ArchiveFormatException($"images.json of {where} is corrupt: {JsonErrors.Describe(e)}"); }
        if (i is null || i.Format != FormatName) throw new ArchiveFormatException($"images.json of {where} is not a Circular image index");
        if (i.FormatVersion != 1)
            throw new ArchiveFormatException($"images.json of {where} has format version {i.FormatVersion}; this program reads version 1");
        if (i.Images is null) throw new ArchiveFormatException($"images.json of {where} is corrupt: \"images\" is missing or null");
        foreach (var name in i.Images)
            if (ImageName.Problem(name) is { } why) throw new ArchiveFormatException($"images.json of {where} is corrupt: {why}");
        if (i.Images.Distinct(StringComparer.Ordinal).Count() != i.Images.Count) throw new ArchiveFormatException($"images.json of {where} is corrupt: an image is listed twice");
        return i;
    }
}
