using System.Text.Json.Serialization;
using Circular.Core.Archive;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Core.Signing;

namespace Circular.Core.Json;

// Source-generated (de)serializers for the archive's JSON formats: the native (AOT) build has no reflection-based
// serializer, and generated code also spares every run the serializer's start-up reflection. Two contexts because
// indentation is a per-context option; reading does not depend on it.

/// <summary>Files people read (circular.json, images.json, refs.json, keys.json): indented.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(ArchiveConfig))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(ImageRefs))]
[JsonSerializable(typeof(ArchiveKeys))]
[JsonSerializable(typeof(MirrorList))]
public sealed partial class IndentedFormatJson : JsonSerializerContext;

/// <summary>Machine-sized or signed data (manifest metadata, profiles, pack indexes, signed statements): compact.</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ManifestMetadata))]
[JsonSerializable(typeof(BootProfile))]
[JsonSerializable(typeof(PackIndex))]
[JsonSerializable(typeof(SignedStatement))]
public sealed partial class CompactFormatJson : JsonSerializerContext;
