using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;
using Circular.Core.Json;

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

    public VersionEntry? Find(int version) => Versions.Find(v => v.Version == version);

    public int NextVersion => Versions.Count == 0 ? 1 : Versions.Max(v => v.Version) + 1;

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, IndentedFormatJson.Default.ImageRefs);

    private static bool IsDigest(string s) => s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public static ImageRefs Parse(ReadOnlySpan<byte> json, string what)
    {
        ImageRefs? r;
        try { r = JsonSerializer.Deserialize(json, IndentedFormatJson.Default.ImageRefs); }
        catch (JsonException e) { throw new ArchiveFormatException($"refs {what} is corrupt: {e.Message}"); }
        if (r is null || r.Format != FormatName) throw new ArchiveFormatException($"refs {what} is not a Circular refs file");
        if (r.FormatVersion != CurrentFormatVersion)
            throw new ArchiveFormatException($"refs {what} has format version {r.FormatVersion}; this program reads version {CurrentFormatVersion}");
        // These name files: anything but a digest could point outside the image's directory.
        foreach (var v in r.Versions)
            if (v is null || (v.Profile is not null && !IsDigest(v.Profile)) || (v.Packs is not null && !IsDigest(v.Packs)))
                throw new ArchiveFormatException($"refs {what} lists a bad profile or pack digest");
        return r;
    }
}

/// <summary>One published version as listed in refs.json.</summary>
public sealed record VersionEntry
{
    [JsonPropertyName("version")] public required int Version { get; init; }
    /// <summary>SHA-256 (hex) of the serialized manifest file.</summary>
    [JsonPropertyName("manifest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("chunkSize")] public int ChunkSize { get; init; }
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
}
