using System.Text.Json.Serialization;

namespace Circular.Server.Catalog;

/// <summary>How far an image's refs can be trusted, as the catalog shows it.</summary>
public enum RefsStatus
{
    /// <summary>Parsed and checked; signed by an archive key when the archive is signed.</summary>
    Ok,
    /// <summary>The archive is signed but these refs have no signature: clients that trust the archive refuse them.</summary>
    Unsigned,
    /// <summary>The signature does not verify with the archive's keys, or is for other bytes or another path.</summary>
    BadSignature,
    /// <summary>Signed, but past its expiry: clients refuse it until 'circular key resign'.</summary>
    Expired,
    /// <summary>The refs file does not parse or is inconsistent.</summary>
    Corrupt,
}

/// <summary>Statuses in JSON as ok, unsigned, bad-signature, expired, corrupt.</summary>
public sealed class RefsStatusJson() : JsonStringEnumConverter<RefsStatus>(System.Text.Json.JsonNamingPolicy.KebabCaseLower);

/// <summary>One image as the catalog's front page lists it (docs/catalog.md).</summary>
public sealed record CatalogImage
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    [JsonConverter(typeof(RefsStatusJson))]
    public RefsStatus Status { get; init; }
    /// <summary>What is wrong when <see cref="Status"/> is not Ok; nothing else about the image is shown then.</summary>
    public string? Problem { get; init; }
    public int Latest { get; init; }
    public int Versions { get; init; }
    /// <summary>Size of the latest version's image.</summary>
    public long Size { get; init; }
    /// <summary>Bytes of chunk files the image's versions added to the archive (what storing it costs).</summary>
    public long StoredBytes { get; init; }
    public Dictionary<string, int> Tags { get; init; } = [];
    public DateTimeOffset Updated { get; init; }
    /// <summary>The key id that signed the refs, when signed.</summary>
    public string? SignedBy { get; init; }
    /// <summary>The latest version has a boot profile (prefetching knows what a boot reads).</summary>
    public bool Profiled { get; init; }
    /// <summary>The latest version is optimized: its hot data is repacked into packs.</summary>
    public bool Packed { get; init; }
}

/// <summary>One version of an image with what the catalog's image page shows for it.</summary>
public sealed record CatalogVersion
{
    public int Version { get; init; }
    public DateTimeOffset Created { get; init; }
    public string? Message { get; init; }
    public List<string> Tags { get; init; } = [];
    public bool Latest { get; init; }
    public long Size { get; init; }
    public long AddedBytes { get; init; }
    public long AddedChunks { get; init; }
    /// <summary>"fixed" (blocks of one size) or "content" (content-defined chunks; <see cref="Blocks"/> counts entries).</summary>
    public string Chunking { get; init; } = "fixed";
    public long Blocks { get; init; }
    public long ZeroBlocks { get; init; }
    /// <summary>The manifest digest (what a measured boot records).</summary>
    public required string Manifest { get; init; }
    /// <summary>The key id that signed the manifest, when signed and valid.</summary>
    public string? SignedBy { get; init; }
    public CatalogProfile? Profile { get; init; }
    public CatalogChange? Change { get; init; }
    /// <summary>Set when the version's manifest, profile or packs could not be read or checked.</summary>
    public string? Problem { get; init; }
    /// <summary>Where to get it, relative to the archive's root.</summary>
    public required CatalogLinks Links { get; init; }
}

/// <summary>A version's boot profile and packs, summarized.</summary>
public sealed record CatalogProfile(int Reads, long Bytes, int Packs, long PackBytes, string Digest, string? PacksDigest);

/// <summary>How a version differs from the one before it (the highest lower number still listed).</summary>
/// <summary>
/// How a version differs from the one before it. Same grid: blocks whose content differs at the same place
/// (<see cref="ByChunk"/> false). Otherwise (content-defined chunks, another block size): chunks the older version lists
/// nowhere, what a client holding it downloads anew.
/// </summary>
public sealed record CatalogChange(int From, long BlocksChanged, long BytesChanged, bool ByChunk = false);

/// <summary>Paths relative to the archive root.</summary>
public sealed record CatalogLinks(string Image, string Ipxe, string Manifest);

/// <summary>One page of an image's versions, newest first.</summary>
public sealed record CatalogVersionPage
{
    public int Page { get; init; }
    public int PageSize { get; init; }
    public int Pages { get; init; }
    public int Total { get; init; }
    public List<CatalogVersion> Versions { get; init; } = [];
}

/// <summary>An image with one page of its versions: /api/images/NAME.</summary>
public sealed record CatalogImageDetail(CatalogImage Image, CatalogVersionPage Versions);

/// <summary>The API's answer when it has none: { "error": "…" } with status 404.</summary>
public sealed record CatalogError(string Error);

/// <summary>Source-generated serializers for the catalog's JSON (no reflection in the native build).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<CatalogImage>))]
[JsonSerializable(typeof(CatalogImageDetail))]
[JsonSerializable(typeof(CatalogVersionPage))]
[JsonSerializable(typeof(CatalogError))]
[JsonSerializable(typeof(StaticCatalogSettings))]
public sealed partial class CatalogJson : JsonSerializerContext;
