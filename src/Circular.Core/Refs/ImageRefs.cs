using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Json;
using Circular.Core.Manifests;

namespace Circular.Core.Refs;

/// <summary>
/// images/NAME/refs.json: every version of one image, its tags and which version is "latest".
/// The only mutable file of an image; replaced atomically. <see cref="Serial"/> grows by one at every change.
/// </summary>
public sealed record ImageRefs
{
    public const string FormatName = "circular-refs";
    public const int CurrentFormatVersion = 1;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("image")] public required string Image { get; init; }
    [JsonPropertyName("serial")] public long Serial { get; init; }
    [JsonPropertyName("updated")] public DateTimeOffset Updated { get; init; }
    [JsonPropertyName("latest")] public int Latest { get; init; }
    [JsonPropertyName("tags")] public Dictionary<string, int> Tags { get; init; } = new(StringComparer.Ordinal);
    [JsonPropertyName("versions")] public List<VersionEntry> Versions { get; init; } = [];
    /// <summary>What the image is, for people (the catalog; set with `circular describe`); omitted when unset.</summary>
    [JsonPropertyName("description")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>The longest description accepted, in characters.</summary>
    public const int MaxDescription = 4096;

    public VersionEntry? Find(int version) => Versions.Find(v => v.Version == version);

    /// <summary>The number the next published version gets: one more than the highest ever listed (not stored).</summary>
    [JsonIgnore]
    public int NextVersion => Versions.Count == 0 ? 1 : Versions.Max(v => v.Version) + 1;

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, IndentedFormatJson.Default.ImageRefs);

    /// <summary>
    /// Parses and checks a refs file: every field present and of its type, version entries self-consistent and unique,
    /// <see cref="Latest"/> and every tag naming a listed version (docs/format.md, "Refs"). <paramref name="image"/>,
    /// when given, is the image the file must describe.
    /// </summary>
    public static ImageRefs Parse(ReadOnlySpan<byte> json, string what, string? image = null)
    {
        ImageRefs? r;
        try { r = JsonSerializer.Deserialize(json, IndentedFormatJson.Default.ImageRefs); }
        catch (JsonException e) { throw new ArchiveFormatException($"refs {what} is corrupt: {JsonErrors.Describe(e)}"); }
        if (r is null || r.Format != FormatName) throw new ArchiveFormatException($"refs {what} is not a Circular refs file");
        if (r.FormatVersion != CurrentFormatVersion)
            throw new ArchiveFormatException(r.FormatVersion > CurrentFormatVersion
                ? $"refs {what} has format version {r.FormatVersion}, too new for this program (it reads version {CurrentFormatVersion}): upgrade circular"
                : $"refs {what} has format version {r.FormatVersion}; this program reads version {CurrentFormatVersion}");
        if (r.Problem(image) is { } why) throw new ArchiveFormatException($"refs {what} is corrupt: {why}");
        return r;
    }

    /// <summary>The first inconsistency of a parsed refs file, or null.</summary>
    private string? Problem(string? image)
    {
        // Deserialization leaves null where the file says null, whatever the declared types.
        if (Image is null) return "\"image\" is missing";
        if (image is not null && Image != image) return $"it describes image '{Image}'";
        if (Tags is null) return "\"tags\" is missing or null";
        if (Versions is null) return "\"versions\" is missing or null";
        if (Serial < 0) return $"serial {Serial} is negative";
        if (Description is { Length: > MaxDescription }) return $"the description is longer than {MaxDescription} characters";
        var seen = new HashSet<int>();
        foreach (var v in Versions)
        {
            if (v is null) return "a version entry is null";
            if (v.Problem() is { } bad) return $"version {v.Version}: {bad}";
            if (!seen.Add(v.Version)) return $"version {v.Version} is listed twice";
        }
        if (Versions.Count > 0 && !seen.Contains(Latest)) return $"latest is {Latest}, which is not a listed version";
        foreach (var (tag, version) in Tags)
        {
            if (ImageName.TagProblem(tag) is { } badTag) return $"bad tag: {badTag}";
            if (!seen.Contains(version)) return $"tag '{tag}' names version {version}, which is not listed";
        }
        return null;
    }
}

/// <summary>One published version as listed in refs.json.</summary>
public sealed record VersionEntry
{
    [JsonPropertyName("version")] public required int Version { get; init; }
    /// <summary>SHA-256 (hex) of the serialized manifest file.</summary>
    [JsonPropertyName("manifest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    /// <summary>The block size of fixed chunking, or the average of content-defined chunks.</summary>
    [JsonPropertyName("chunkSize")] public int ChunkSize { get; init; }
    /// <summary>"content" for content-defined chunks (archive format 2); omitted for fixed blocks.</summary>
    [JsonPropertyName("chunking")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ChunkingName { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("blocks")] public long Blocks { get; init; }
    [JsonPropertyName("zeroBlocks")] public long ZeroBlocks { get; init; }
    [JsonPropertyName("addedChunks")] public long AddedChunks { get; init; }
    /// <summary>Bytes of new chunk files this version wrote to the archive.</summary>
    [JsonPropertyName("addedBytes")] public long AddedBytes { get; init; }
    /// <summary>SHA-256 of the version's boot profile (images/NAME/profiles/DIGEST), when one was pushed.</summary>
    [JsonPropertyName("profile")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Profile { get; init; }
    /// <summary>SHA-256 of the version's pack index (images/NAME/packs/DIGEST), when 'optimize' made one.</summary>
    [JsonPropertyName("packs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Packs { get; init; }

    /// <summary>The version whose manifest images/NAME/patches/N patches into this one's, when a patch was written
    /// (docs/format.md, "Manifest patches"); omitted when there is none.</summary>
    [JsonPropertyName("patchFrom")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? PatchFrom { get; init; }

    public const string ContentChunkingName = "content";

    /// <summary>How the version was cut (<see cref="ChunkingName"/>).</summary>
    [JsonIgnore]
    public Chunking Chunking => ChunkingName == ContentChunkingName ? Chunking.Content : Chunking.Fixed;

    /// <summary>The number of manifest entries: a version of this size has this many blocks at this chunk size;
    /// content-defined chunks are as many as the entry says.</summary>
    [JsonIgnore]
    public long ExpectedBlocks => Chunking == Chunking.Content ? Math.Clamp(Blocks, 0, Manifest.MaxBlocks)
        : ChunkSize > 0 ? (Size + ChunkSize - 1) / ChunkSize : 0;

    /// <summary>What is wrong with this entry on its own, or null.</summary>
    internal string? Problem()
    {
        if (Version < 1) return "version numbers start at 1";
        if (ManifestDigest is null || !ArchiveLayout.IsDigest(ManifestDigest)) return "the manifest digest is not a SHA-256";
        if (ChunkingName is not (null or ContentChunkingName)) return $"unknown chunking '{ChunkingName}'";
        if (Chunking == Chunking.Content)
        {
            if (!ContentBoundaries.IsValidAverage(ChunkSize)) return $"average chunk size {ChunkSize} is not a power of two from 16 KiB to 1 MiB";
            if (Size < 0) return $"size {Size} is out of range";
            if (Blocks < 0 || Blocks > Manifest.MaxBlocks || Blocks > Size || (Blocks == 0) != (Size == 0)) return $"{Blocks} chunks cannot make a {Size}-byte image";
        }
        else
        {
            if (!ChunkSizes.IsValid(ChunkSize)) return $"chunk size {ChunkSize} is not a power of two from 64 KiB to 4 MiB";
            if (Size < 0 || Size > Manifest.MaxBlocks * (long)ChunkSize) return $"size {Size} is out of range";
            if (Blocks != ExpectedBlocks) return $"{Blocks} blocks do not make a {Size}-byte image of {ChunkSize}-byte chunks";
        }
        if (ZeroBlocks < 0 || ZeroBlocks > Blocks) return $"{ZeroBlocks} zero blocks of {Blocks}";
        if (AddedChunks < 0 || AddedBytes < 0) return "negative added chunks or bytes";
        if (Profile is not null && !ArchiveLayout.IsDigest(Profile)) return "the profile digest is not a SHA-256";
        if (Packs is not null && !ArchiveLayout.IsDigest(Packs)) return "the pack index digest is not a SHA-256";
        if (PatchFrom is { } from && (from < 1 || from >= Version)) return $"its manifest patch starts from version {from}, not an earlier one";
        return null;
    }

    /// <summary>The first way <paramref name="m"/> disagrees with this entry, or null (checked whenever a manifest is read).</summary>
    public string? Disagreement(Manifest m) =>
        m.ImageSize != Size ? $"its size is {m.ImageSize} bytes, refs say {Size}"
        : m.ChunkSize != ChunkSize ? $"its chunk size is {m.ChunkSize}, refs say {ChunkSize}"
        : m.Chunking != Chunking ? $"its chunking is {m.Chunking.ToString().ToLowerInvariant()}, refs say {Chunking.ToString().ToLowerInvariant()}"
        : m.Map.Count != ExpectedBlocks ? $"it lists {m.Map.Count} chunks, refs say {ExpectedBlocks}"
        : null;
}
