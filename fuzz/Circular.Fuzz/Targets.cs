using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Core.Signing;

namespace Circular.Fuzz;

/// <summary>
/// Every fuzz target, named for what it parses. A target feeds one input to one parser; a parser may reject the input
/// only with the error its callers handle (a <see cref="CircularException"/>, or the protocol's own exception), and
/// must return in bounded time and memory. Anything else (IndexOutOfRange, NullReference, OverflowException, an
/// allocation beyond the object's bound...) escapes, and AFL++ records the input as a crash.
/// </summary>
public static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal) {
        ["manifest"] = Manifest,
        ["manifestpatch"] = ManifestPatchInput,
        ["refs"] = d => Expect(() => ImageRefs.Parse(d, "fuzz", "os")),
        ["signature"] = d => Expect(() => SignatureFile.Parse(d, "fuzz")),
        ["profile"] = d => Expect(() => BootProfile.Parse(d, "fuzz")),
        ["packindex"] = d => Expect(() => PackIndex.Parse(d, "fuzz")),
        ["mirrors"] = d => Expect(() => MirrorList.Parse(d, "fuzz")),
        ["keys"] = d => Expect(() => ArchiveKeys.Parse(d, "fuzz")),
        ["config"] = d => Expect(() => ArchiveConfig.Parse(d, "fuzz")),
        ["index"] = d => Expect(() => ImageIndex.Parse(d, "fuzz")),
        ["chunk"] = Chunk,
        ["overlay"] = d => Expect(() => Imaging.Overlay.OverlayState.Parse(d, "fuzz")),
        ["seed"] = d => Expect(() => Boot.Seed.SeedDescription.Parse(d, "fuzz")),
        ["nbd"] = NbdSession.Run,
        ["fuse"] = FuseSession.Run,
        ["range"] = RangeHeaders.Run,
        ["rangeresponse"] = RangeResponses.Run,
    };

    /// <summary>Runs <paramref name="parse"/>; an expected rejection is fine, anything else propagates.</summary>
    public static void Expect(Action parse)
    {
        try { parse(); }
        catch (CircularException) { }
    }

    /// <summary>
    /// Manifests end with the SHA-256 of what precedes them, which random mutations never match: the checksum is
    /// set right first, so the fuzzer reaches the header, metadata and block list (a wrong checksum is unit-tested).
    /// </summary>
    private static void Manifest(byte[] data)
    {
        if (data.Length >= 32) System.Security.Cryptography.SHA256.HashData(data.AsSpan(0, data.Length - 32), data.AsSpan(data.Length - 32));
        Expect(() => Core.Manifests.Manifest.Parse(data, "fuzz"));
    }

    /// <summary>
    /// The parent every patch input applies to: eight content chunks of 16 KiB, ids SHA-256(i), stored digests SHA-256(-i).
    /// Built on first use, inside the fuzzing loop: instrumented code run before SharpFuzz maps AFL's coverage memory
    /// (as a static initializer of this class would) crashes the fork server of every target.
    /// </summary>
    private static readonly Lazy<Manifest> s_patchParent = new(() => new(
        new ManifestMetadata { Image = "os", Version = 1, Created = DateTimeOffset.UnixEpoch }, Chunking.Content, 32 << 10,
        ChunkMap.Variable(
            [.. Enumerable.Range(1, 8).Select(i => ChunkId.Compute(BitConverter.GetBytes(i)))],
            [.. Enumerable.Range(1, 8).Select(i => i * 16384L)],
            [.. Enumerable.Range(1, 8).Select(i => ChunkId.Compute(BitConverter.GetBytes(-i)))])));

    /// <summary>Manifest patches applied to a fixed parent, the rebuilt manifest parsed; the checksum is set first, as for manifests.</summary>
    private static void ManifestPatchInput(byte[] data)
    {
        if (data.Length >= 32) System.Security.Cryptography.SHA256.HashData(data.AsSpan(0, data.Length - 32), data.AsSpan(data.Length - 32));
        Expect(() =>
        {
            ManifestPatch.ParentDigest(data, "fuzz");
            Core.Manifests.Manifest.Parse(ManifestPatch.Apply(data, s_patchParent.Value, 1 << 20, "fuzz"), "fuzz");
        });
    }

    private static readonly byte[] s_decoded = new byte[ChunkFile.MaxChunkLength];

    /// <summary>
    /// Chunk files of both codecs: decoded into a bounded buffer (Decode rejects a malformed file with
    /// InvalidDataException, which DecodeVerified, the path of every read, turns into a corrupt-chunk error), then
    /// checked against their own hash.
    /// </summary>
    private static void Chunk(byte[] data) => Expect(() =>
    {
        int n;
        try { n = ChunkFile.Decode(data, s_decoded); }
        catch (InvalidDataException) { return; }
        if (n < 0 || n > ChunkFile.MaxChunkLength) throw new InvalidOperationException($"decoded length {n} out of range");
        ChunkFile.DecodeVerified(ChunkId.Compute(s_decoded.AsSpan(0, n)), "fuzz", data, s_decoded);
    });
}
