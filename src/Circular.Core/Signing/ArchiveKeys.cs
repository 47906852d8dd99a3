using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.Signing;

/// <summary>
/// keys.json at the archive root: the public keys the archive's signatures are made with, each published at
/// keys/KEYID.pub. Unsigned itself: it only announces that the archive is signed and lets a client pin a key on
/// first use; what a client trusts is its pinned or --trust keys, never this file.
/// </summary>
public sealed record ArchiveKeys
{
    public const string FormatName = "circular-keys";
    public const int CurrentFormatVersion = 1;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("keys")] public List<ArchiveKeyEntry> Keys { get; init; } = [];

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, IndentedFormatJson.Default.ArchiveKeys);

    public static ArchiveKeys Parse(ReadOnlySpan<byte> json, string where)
    {
        ArchiveKeys? k;
        try { k = JsonSerializer.Deserialize(json, IndentedFormatJson.Default.ArchiveKeys); }
        catch (JsonException e) { throw new ArchiveFormatException($"keys.json of {where} is corrupt: {JsonErrors.Describe(e)}"); }
        if (k is null || k.Format != FormatName) throw new ArchiveFormatException($"keys.json of {where} is not a Circular key list");
        if (k.FormatVersion != CurrentFormatVersion)
            throw new ArchiveFormatException($"keys.json of {where} has format version {k.FormatVersion}; this program reads version {CurrentFormatVersion}");
        if (k.Keys is null || k.Keys.Any(e => e is null || e.Id is null || !KeyId.IsValid(e.Id))) throw new ArchiveFormatException($"keys.json of {where} lists a malformed key id");
        return k;
    }
}

public sealed record ArchiveKeyEntry
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("algorithm")] public string Algorithm { get; init; } = SigningKey.Algorithm;
    [JsonPropertyName("added")] public DateTimeOffset Added { get; init; }
}
