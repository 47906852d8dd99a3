using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>
/// What a seed disk points at, kept as /circular/seed.json on its EFI system partition (docs/vmseed.md, format 1):
/// read by `circular seed --info`; the booted client reads its kernel command line instead.
/// </summary>
public sealed record SeedDescription
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public DateTimeOffset Created { get; init; }
    /// <summary>The archive's URL as the guest reaches it, then its mirrors.</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];
    /// <summary>What the default entry boots (NAME, NAME@N or NAME@TAG).</summary>
    public string Image { get; init; } = "";
    /// <summary>The version that was current when the disk was written (its kernel is the disk's).</summary>
    public string Version { get; init; } = "";
    public string KernelRelease { get; init; } = "";
    public IReadOnlyList<string> TrustKeyIds { get; init; } = [];
    /// <summary>The ext4 file system id of the cache partition (the kernel command line's circular.cache=UUID=…).</summary>
    public string CacheUuid { get; init; } = "";
    /// <summary>none, profile or all: what was stored in the cache when the disk was written.</summary>
    public string Fill { get; init; } = "none";
    public long FilledBytes { get; init; }
    public IReadOnlyList<SeedMenuEntry> Menu { get; init; } = [];

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, SeedJson.Default.SeedDescription);

    public static SeedDescription Parse(ReadOnlySpan<byte> json, string where)
    {
        SeedDescription? d;
        try { d = JsonSerializer.Deserialize(json, SeedJson.Default.SeedDescription); }
        catch (JsonException e) { throw new ArchiveFormatException($"{where}: not a seed description ({e.Message})"); }
        if (d is null) throw new ArchiveFormatException($"{where}: empty seed description");
        if (d.Format > CurrentFormat) throw new ArchiveFormatException($"{where}: seed disk format {d.Format} is newer than this circular understands ({CurrentFormat}); upgrade circular");
        return d;
    }
}

/// <summary>One boot menu entry: its title and what it boots.</summary>
public sealed record SeedMenuEntry(string Title, string Image, string CommandLine);

/// <summary>What the booted client keeps on the cache partition about its last boot (/state.json), for --info.</summary>
public sealed record SeedState
{
    public DateTimeOffset Booted { get; init; }
    public string Version { get; init; } = "";
    public bool Online { get; init; }
    public long CacheBytes { get; init; }
    public long CacheQuota { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, SeedJson.Default.SeedState);

    public static SeedState? TryParse(ReadOnlySpan<byte> json)
    {
        try { return JsonSerializer.Deserialize(json, SeedJson.Default.SeedState); }
        catch (JsonException) { return null; }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SeedDescription))]
[JsonSerializable(typeof(SeedState))]
internal sealed partial class SeedJson : JsonSerializerContext;
