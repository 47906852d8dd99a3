using System.Security.Cryptography;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;

namespace Circular.Core.Tests;

/// <summary>Manifest patches: a format 2 manifest rebuilt byte for byte from its parent's and the changes.</summary>
public sealed class ManifestPatchTests
{
    private static ChunkId Id(int i) => ChunkId.Compute(BitConverter.GetBytes(i));
    private static ChunkId Stored(int i) => ChunkId.Compute(BitConverter.GetBytes(-i));

    private static ManifestMetadata Meta(int version, int? parent) =>
        new() { Image = "os", Version = version, Parent = parent, Created = new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), Codec = "zstd" };

    /// <summary>A content-chunked manifest of the given chunks (id number, length; id 0 is a zero run).</summary>
    private static Manifest Content(int version, int? parent, IEnumerable<(int Id, int Length)> chunks)
    {
        var list = chunks.ToList();
        var ids = new ChunkId[list.Count];
        var stored = new ChunkId[list.Count];
        var ends = new long[list.Count];
        long end = 0;
        for (int i = 0; i < list.Count; i++)
        {
            ids[i] = list[i].Id == 0 ? ChunkId.Zero : Id(list[i].Id);
            stored[i] = list[i].Id == 0 ? ChunkId.Zero : Stored(list[i].Id);
            ends[i] = end += list[i].Length;
        }
        return new Manifest(Meta(version, parent), Chunking.Content, 32 << 10, ChunkMap.Variable(ids, ends, stored));
    }

    private static string Digest(Manifest m) => Manifest.Digest(m.Serialize());

    /// <summary>A thousand chunks of lengths 8-64 KiB; the child inserts, drops, changes and moves some, so every copy shifts.</summary>
    private static (Manifest Parent, Manifest Child) Pair()
    {
        var rnd = new Random(7);
        var parentChunks = Enumerable.Range(1, 1000).Select(i => (i, rnd.Next(2, 17) * 4096)).ToList();
        parentChunks[500] = (0, 1 << 20);
        var child = new List<(int, int)>(parentChunks);
        child.Insert(10, (5001, 12288));          // a new chunk near the start shifts everything after it
        child.RemoveRange(200, 3);                 // dropped chunks
        child[600] = (5002, child[600].Item2);     // one changed in place
        child.AddRange(parentChunks.GetRange(0, 5)); // chunks moved to the end (repeats)
        child.Add((5003, 4096 + 17));              // a new tail
        return (Content(1, null, parentChunks), Content(2, 1, child));
    }

    [Fact]
    public void A_patch_rebuilds_the_exact_manifest_and_is_a_small_part_of_it()
    {
        var (parent, child) = Pair();
        byte[] childBytes = child.Serialize();
        byte[] patch = ManifestPatch.Create(parent, Digest(parent), child, childBytes)!;
        Assert.Equal(Digest(parent), ManifestPatch.ParentDigest(patch, "os@2"));
        byte[] rebuilt = ManifestPatch.Apply(patch, parent, Manifest.MaxFileLength(child.Map.Count), "os@2");
        Assert.Equal(childBytes, rebuilt);
        // Three new entries of 72 bytes, a handful of copy runs, the header and metadata: not the 72 KB of entries.
        Assert.True(patch.Length < 1000, $"patch of {patch.Length} bytes for a {childBytes.Length}-byte manifest");
    }

    [Fact]
    public void A_patch_against_an_unrelated_parent_still_rebuilds_the_manifest()
    {
        var (_, child) = Pair();
        var other = Content(1, null, [(9001, 8192), (9002, 8192)]);
        byte[] childBytes = child.Serialize();
        byte[] patch = ManifestPatch.Create(other, Digest(other), child, childBytes)!;
        Assert.True(patch.Length >= childBytes.Length - 100); // all literal: the writer leaves such a patch out
        Assert.Equal(childBytes, ManifestPatch.Apply(patch, other, Manifest.MaxFileLength(child.Map.Count), "os@2"));
    }

    [Fact]
    public void Format_1_manifests_have_no_patch()
    {
        var (parent, _) = Pair();
        var fixedOne = new Manifest(Meta(2, 1), 64 << 10, 65536 * 2, [Id(1), Id(2)]);
        Assert.Null(ManifestPatch.Create(parent, Digest(parent), fixedOne, fixedOne.Serialize()));
    }

    [Fact]
    public void Applied_to_another_parent_a_patch_rebuilds_other_bytes_that_the_digest_refuses()
    {
        var (parent, child) = Pair();
        byte[] patch = ManifestPatch.Create(parent, Digest(parent), child, child.Serialize())!;
        var wrongParent = Content(1, null, Enumerable.Range(2001, 1000).Select(i => (i, 8192)));
        byte[] rebuilt = ManifestPatch.Apply(patch, wrongParent, Manifest.MaxFileLength(child.Map.Count), "os@2");
        Assert.NotEqual(Digest(child), Manifest.Digest(rebuilt));
    }

    [Fact]
    public void Damaged_or_hostile_patches_are_refused_with_their_reason()
    {
        var (parent, child) = Pair();
        byte[] patch = ManifestPatch.Create(parent, Digest(parent), child, child.Serialize())!;
        long max = Manifest.MaxFileLength(child.Map.Count);

        var flipped = (byte[])patch.Clone();
        flipped[200] ^= 1;
        Assert.Contains("checksum", Assert.Throws<ArchiveFormatException>(() => ManifestPatch.Apply(flipped, parent, max, "os@2")).Message);
        Assert.Throws<ArchiveFormatException>(() => ManifestPatch.Apply(patch.AsSpan(0, 40), parent, max, "os@2"));
        var newer = Resealed(patch, p => p[8] = 9);
        Assert.Contains("format version 9", Assert.Throws<ArchiveFormatException>(() => ManifestPatch.Apply(newer, parent, max, "os@2")).Message);
        // A manifest larger than the caller allows is refused before anything is allocated for it.
        Assert.Contains("entries", Assert.Throws<ArchiveFormatException>(() => ManifestPatch.Apply(patch, parent, 1000, "os@2")).Message);
        // A copy of parent entries past the parent's end.
        int firstOp = 60 + child.Serialize().Length - child.Map.Count * 72 - 32;
        var outOfRange = Resealed(patch, p => { p[firstOp] = 1; BitConverter.TryWriteBytes(p.AsSpan(firstOp + 1), 999_999); });
        Assert.Contains("out of range", Assert.Throws<ArchiveFormatException>(() => ManifestPatch.Apply(outOfRange, parent, max, "os@2")).Message);
        var unknownOp = Resealed(patch, p => p[firstOp] = 7);
        Assert.Contains("unknown operation", Assert.Throws<ArchiveFormatException>(() => ManifestPatch.Apply(unknownOp, parent, max, "os@2")).Message);
    }

    private static byte[] Resealed(byte[] patch, Action<byte[]> edit)
    {
        var copy = (byte[])patch.Clone();
        edit(copy);
        SHA256.HashData(copy.AsSpan(0, copy.Length - 32), copy.AsSpan(copy.Length - 32));
        return copy;
    }
}
