using System.Text.Json.Serialization;

namespace Circular.Core.Manifests;

/// <summary>The JSON part of a manifest: who and what this version is. Unknown fields are ignored by readers.</summary>
public sealed record ManifestMetadata
{
    [JsonPropertyName("image")] public required string Image { get; init; }
    [JsonPropertyName("version")] public required int Version { get; init; }
    [JsonPropertyName("created")] public required DateTimeOffset Created { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("parent")] public int? Parent { get; init; }
    [JsonPropertyName("codec")] public string? Codec { get; init; }
    [JsonPropertyName("boot")] public BootAssets? Boot { get; init; }
}

/// <summary>The seed's "kernel and miniroot": small files stored as chunks beside the disk image.</summary>
public sealed record BootAssets
{
    [JsonPropertyName("kernel")] public AssetRef? Kernel { get; init; }
    [JsonPropertyName("initrd")] public AssetRef? Initrd { get; init; }
    [JsonPropertyName("append")] public string? Append { get; init; }
}

/// <summary>A file stored as consecutive chunks of the manifest's chunk size (the last may be short).</summary>
public sealed record AssetRef
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("chunks")] public required string[] Chunks { get; init; }
}
