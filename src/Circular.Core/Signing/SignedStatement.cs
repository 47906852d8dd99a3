using System.Text.Json.Serialization;

namespace Circular.Core.Signing;

/// <summary>
/// What a signature vouches for: the object at <see cref="Path"/> has bytes hashing to <see cref="Sha256"/>.
/// Times are Unix seconds so the signed bytes have one obvious form. Refs carry their serial (replay protection)
/// and an expiry (freeze protection); manifests are immutable and carry no expiry.
/// </summary>
public sealed record SignedStatement
{
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("serial")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Serial { get; init; }
    [JsonPropertyName("timestamp")] public long Timestamp { get; init; }
    [JsonPropertyName("expires")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Expires { get; init; }

    [JsonIgnore] public DateTimeOffset SignedAt => DateTimeOffset.FromUnixTimeSeconds(Timestamp);
    [JsonIgnore] public DateTimeOffset? ExpiresAt => Expires is { } e ? DateTimeOffset.FromUnixTimeSeconds(e) : null;
}
