using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.HotData;

/// <summary>
/// A boot access profile (docs/format.md, "Profiles"): the byte ranges one run of a version first read, in the order
/// it read them, at page granularity. Stored content-addressed under images/NAME/profiles/ and named by the
/// version's refs entry; the prefetcher follows its order and <c>optimize</c> packs its pages.
/// </summary>
public sealed record BootProfile
{
    public const string FormatName = "circular-profile";
    public const int CurrentFormatVersion = 1;
    /// <summary>The recording granularity: a read touches whole pages.</summary>
    public const int PageSize = 4096;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("image")] public required string Image { get; init; }
    [JsonPropertyName("version")] public int Version { get; init; }
    /// <summary>Digest of the manifest the run read: offsets are meaningful for that content.</summary>
    [JsonPropertyName("manifest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("chunkSize")] public int ChunkSize { get; init; }
    [JsonPropertyName("pageSize")] public int Page { get; init; } = PageSize;
    [JsonPropertyName("recorded")] public DateTimeOffset Recorded { get; init; }
    /// <summary>Each entry is [milliseconds since start, offset, length]: pages not read before, page-aligned.</summary>
    [JsonPropertyName("reads")] public List<long[]> Reads { get; init; } = [];

    [JsonIgnore] public IEnumerable<ProfileRead> Entries => Reads.Select(r => new ProfileRead(r[0], r[1], r[2]));

    /// <summary>Bytes the run read (each page once).</summary>
    [JsonIgnore] public long ReadBytes => Reads.Sum(r => r[2]);

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, CompactFormatJson.Default.BootProfile);

    public static string Digest(ReadOnlySpan<byte> serialized) => Convert.ToHexStringLower(SHA256.HashData(serialized));

    /// <summary>Parses and checks a profile: format, version, every range inside the image and page-aligned.</summary>
    public static BootProfile Parse(ReadOnlySpan<byte> json, string what)
    {
        BootProfile? p;
        try { p = JsonSerializer.Deserialize(json, CompactFormatJson.Default.BootProfile); }
        catch (JsonException e) { throw new ArchiveFormatException($"{what} is not a Circular boot profile: {Json.JsonErrors.Describe(e)}"); }
        if (p is null || p.Format != FormatName) throw new ArchiveFormatException($"{what} is not a Circular boot profile");
        if (p.FormatVersion != CurrentFormatVersion)
            throw new ArchiveFormatException($"profile {what} has format version {p.FormatVersion}; this program reads version {CurrentFormatVersion}");
        if (p.Page != PageSize) throw new ArchiveFormatException($"profile {what} uses {p.Page}-byte pages; this program reads {PageSize}");
        if (p.Size <= 0) throw new ArchiveFormatException($"profile {what} gives no image size");
        if (p.Reads is null) throw new ArchiveFormatException($"profile {what} is corrupt: \"reads\" is missing or null");
        foreach (var r in p.Reads)
        {
            if (r is null || r.Length != 3 || r[0] < 0 || r[1] < 0 || r[2] <= 0 || r[1] % PageSize != 0 || r[1] + r[2] > p.Size ||
                (r[2] % PageSize != 0 && r[1] + r[2] != p.Size))
                throw new ArchiveFormatException($"profile {what} has a bad read entry [{string.Join(", ", r ?? [])}]");
        }
        return p;
    }
}

/// <summary>One profile entry: a run of pages first read <paramref name="Millis"/> ms after the run started.</summary>
public readonly record struct ProfileRead(long Millis, long Offset, long Length);
