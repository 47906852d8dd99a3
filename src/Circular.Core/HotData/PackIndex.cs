using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.HotData;

/// <summary>
/// Where a version's hot pages live in pack files (docs/format.md, "Packs"): the regions a boot profile read, in
/// access order, each mapped to an offset inside one pack. Packs are chunk files (CCHK) under packs/, named by the
/// SHA-256 of their uncompressed content; the index itself is content-addressed under images/NAME/packs/.
/// </summary>
public sealed record PackIndex
{
    public const string FormatName = "circular-packs";
    public const int CurrentFormatVersion = 1;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("image")] public required string Image { get; init; }
    [JsonPropertyName("version")] public int Version { get; init; }
    [JsonPropertyName("manifest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("profile")] public required string ProfileDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("packs")] public List<PackInfo> Packs { get; init; } = [];
    /// <summary>Each entry is [image offset, length, pack number, offset in pack], in access order.</summary>
    [JsonPropertyName("regions")] public List<long[]> Regions { get; init; } = [];

    [JsonIgnore] public IEnumerable<PackRegion> Entries => Regions.Select(r => new PackRegion(r[0], r[1], (int)r[2], (int)r[3]));

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, CompactFormatJson.Default.PackIndex);

    /// <summary>Parses and checks an index: every region inside the image and inside its pack, none overlapping.</summary>
    public static PackIndex Parse(ReadOnlySpan<byte> json, string what)
    {
        PackIndex? p;
        try { p = JsonSerializer.Deserialize(json, CompactFormatJson.Default.PackIndex); }
        catch (JsonException e) { throw new ArchiveFormatException($"{what} is not a Circular pack index: {Json.JsonErrors.Describe(e)}"); }
        if (p is null || p.Format != FormatName) throw new ArchiveFormatException($"{what} is not a Circular pack index");
        if (p.FormatVersion != CurrentFormatVersion)
            throw new ArchiveFormatException($"pack index {what} has format version {p.FormatVersion}; this program reads version {CurrentFormatVersion}");
        if (p.Packs is null || p.Regions is null) throw new ArchiveFormatException($"pack index {what} is corrupt: \"packs\" or \"regions\" is missing or null");
        foreach (var pack in p.Packs)
        {
            if (pack is null || !ChunkId.TryParse(pack.Id, out _) || pack.Length <= 0 || pack.Length > ChunkFile.MaxChunkLength ||
                (pack.StoredDigest is { } sd && (!ChunkId.TryParse(sd, out var stored) || stored.IsZero)))
                throw new ArchiveFormatException($"pack index {what} lists a bad pack");
        }
        var sorted = new List<(long Start, long End)>(p.Regions.Count);
        foreach (var r in p.Regions)
        {
            if (r is null || r.Length != 4 || r[0] < 0 || r[1] <= 0 || r[0] + r[1] > p.Size || r[2] < 0 || r[2] >= p.Packs.Count ||
                r[3] < 0 || r[3] + r[1] > p.Packs[(int)r[2]].Length)
                throw new ArchiveFormatException($"pack index {what} has a bad region [{string.Join(", ", r ?? [])}]");
            sorted.Add((r[0], r[0] + r[1]));
        }
        sorted.Sort();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Start < sorted[i - 1].End) throw new ArchiveFormatException($"pack index {what} has overlapping regions at offset {sorted[i].Start}");
        return p;
    }
}

/// <summary>One pack file: its id (SHA-256 of the uncompressed content) and uncompressed length.</summary>
public sealed record PackInfo
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("length")] public int Length { get; init; }
    /// <summary>Bytes of the stored (compressed) pack file: what a client downloads.</summary>
    [JsonPropertyName("stored")] public long Stored { get; init; }
    /// <summary>
    /// SHA-256 of the pack file as its writer stored it (optional, as format 2 manifests give chunks): a reader that
    /// receives that very file checks it with one hash over its compressed bytes instead of hashing the decoded content.
    /// </summary>
    [JsonPropertyName("storedDigest")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StoredDigest { get; init; }

    [JsonIgnore] public ChunkId ChunkId => ChunkId.Parse(Id);
    /// <summary>The pack as a chunk reference: its id and, when the index gives it, its stored file's digest.</summary>
    [JsonIgnore] public ChunkRef Ref => new(ChunkId, StoredDigest is null ? ChunkId.Zero : ChunkId.Parse(StoredDigest));
}

/// <summary>Image bytes [<paramref name="Offset"/>, +<paramref name="Length"/>) are pack <paramref name="Pack"/>'s bytes from <paramref name="PackOffset"/>.</summary>
public readonly record struct PackRegion(long Offset, long Length, int Pack, int PackOffset);
