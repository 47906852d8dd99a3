using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.Archive;

/// <summary>
/// mirrors.json at the archive root (docs/format.md, "Mirror list"): other base URLs serving the same archive, so a
/// client given one URL learns the rest (the seed's DNS-Balance, without DNS). Signed like refs in a signed archive
/// (mirrors.json.sig); a client ignores a list that fails its trust check. A mirror can only slow a client down, never
/// fool it: everything read from it is verified like anything else.
/// </summary>
public sealed record MirrorList
{
    public const string FormatName = "circular-mirrors";
    public const int CurrentFormatVersion = 1;
    /// <summary>More than any real deployment lists; a bound so a hostile list cannot make a client probe without end.</summary>
    public const int MaxMirrors = 64;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("updated")] public DateTimeOffset Updated { get; init; }
    [JsonPropertyName("mirrors")] public List<MirrorEntry> Mirrors { get; init; } = [];

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, IndentedFormatJson.Default.MirrorList);

    public static MirrorList Parse(ReadOnlySpan<byte> json, string where)
    {
        MirrorList? m;
        try { m = JsonSerializer.Deserialize(json, IndentedFormatJson.Default.MirrorList); }
        catch (JsonException e) { throw new ArchiveFormatException($"mirrors.json of {where} is corrupt: {JsonErrors.Describe(e)}"); }
        if (m is null || m.Format != FormatName) throw new ArchiveFormatException($"mirrors.json of {where} is not a Circular mirror list");
        if (m.FormatVersion > CurrentFormatVersion)
            throw new ArchiveFormatException($"mirrors.json of {where} has format version {m.FormatVersion}, too new for this program (it reads version {CurrentFormatVersion}); upgrade circular");
        if (m.FormatVersion != CurrentFormatVersion)
            throw new ArchiveFormatException($"mirrors.json of {where} has format version {m.FormatVersion}; this program reads version {CurrentFormatVersion}");
        // JSON null where a list or URL belongs (found by fuzzing): a malformed list, not a crash.
        if (m.Mirrors is null || m.Mirrors.Any(e => e is null || e.Url is null)) throw new ArchiveFormatException($"mirrors.json of {where} has a mirror entry without a URL");
        if (m.Mirrors.Count > MaxMirrors) throw new ArchiveFormatException($"mirrors.json of {where} lists {m.Mirrors.Count} mirrors, more than {MaxMirrors}");
        if (m.Mirrors.FirstOrDefault(e => !IsValidUrl(e.Url)) is { } bad)
            throw new ArchiveFormatException($"mirrors.json of {where} lists '{bad.Url}', which is not an http(s) URL");
        return m;
    }

    /// <summary>An absolute http(s) URL without credentials, query or fragment: a base URL of an archive.</summary>
    public static bool IsValidUrl(string? url) =>
        url is not null && Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.UserInfo.Length == 0
        && u.Query.Length == 0 && u.Fragment.Length == 0 && url.Length <= 2048;

    /// <summary>The form URLs are compared and stored in: no trailing slash.</summary>
    public static string Normalize(string url) => url.TrimEnd('/');
}

public sealed record MirrorEntry
{
    [JsonPropertyName("url")] public required string Url { get; init; }
    [JsonPropertyName("added")] public DateTimeOffset Added { get; init; }
}
