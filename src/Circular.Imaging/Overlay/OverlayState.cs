using System.Text.Json;
using System.Text.Json.Serialization;
using Circular.Core.Errors;

namespace Circular.Imaging.Overlay;

/// <summary>
/// overlay.json: which version an overlay sits on. An overlay directory holds overlay.json, "data" (a sparse
/// file of the image's size holding written blocks at their offsets) and "map" (one bit per 4 KiB block:
/// 1 = read it from data). Format in docs/format.md, "Overlays".
/// </summary>
public sealed record OverlayState
{
    public const string FormatName = "circular-overlay";
    public const int CurrentFormatVersion = 1;

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("image")] public required string Image { get; init; }
    [JsonPropertyName("baseVersion")] public required int BaseVersion { get; init; }
    [JsonPropertyName("baseManifest")] public required string BaseManifest { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("blockSize")] public int BlockSize { get; init; } = OverlayImage.BlockSize;
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, OverlayJson.Default.OverlayState);

    public static OverlayState Parse(byte[] json, string where)
    {
        OverlayState? s;
        try { s = JsonSerializer.Deserialize(json, OverlayJson.Default.OverlayState); }
        catch (JsonException) { s = null; }
        if (s is null || s.Format != FormatName) throw new ArchiveFormatException($"{where} is not a Circular overlay");
        if (s.FormatVersion != CurrentFormatVersion) throw new ArchiveFormatException($"{where}: overlay format version {s.FormatVersion} is not supported");
        if (s.BlockSize != OverlayImage.BlockSize) throw new ArchiveFormatException($"{where}: overlay block size {s.BlockSize} is not supported");
        return s;
    }
}

/// <summary>Source-generated serializer for overlay.json (no reflection in the native build).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(OverlayState))]
internal sealed partial class OverlayJson : JsonSerializerContext;
