using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Core.Tests;

/// <summary>
/// Format 2 manifests record each chunk file's SHA-256, and a reader that receives exactly that file trusts it without
/// hashing what it decodes (docs/format.md, "Threat model"); any other file is held to the id as before.
/// </summary>
public class StoredDigestTests
{
    private static byte[] Raw()
    {
        var data = new byte[64 * 1024];
        var rng = new Random(3);
        for (int i = 0; i < data.Length; i++) data[i] = (byte)('a' + rng.Next(8));
        return data;
    }

    private static byte[] Encode(byte[] raw, ChunkCodec codec)
    {
        var buf = new byte[ChunkFile.MaxEncodedLength(raw.Length)];
        return buf[..ChunkFile.Encode(raw, codec, 3, buf)];
    }

    [Fact]
    public void The_file_the_manifest_names_decodes_on_its_stored_digest_alone()
    {
        byte[] raw = Raw(), file = Encode(raw, ChunkCodec.Zstd);
        var dest = new byte[raw.Length];
        Assert.Equal(raw.Length, ChunkFile.DecodeStored(new ChunkRef(ChunkId.Compute(raw), ChunkId.Compute(file)), "t", file, dest));
        Assert.Equal(raw, dest);

        // What is trusted is the stored digest: with it matching, the content is not hashed again. (A wrong id with
        // the right stored digest can only come from a manifest that is itself checked, and signed where trust is on.)
        var otherId = ChunkId.Compute([1, 2, 3]);
        Assert.Equal(raw.Length, ChunkFile.DecodeStored(new ChunkRef(otherId, ChunkId.Compute(file)), "t", file, dest));
    }

    [Fact]
    public void Another_encoding_of_the_same_chunk_is_checked_against_the_id()
    {
        byte[] raw = Raw();
        byte[] zstd = Encode(raw, ChunkCodec.Zstd), zlib = Encode(raw, ChunkCodec.Zlib);
        var chunk = new ChunkRef(ChunkId.Compute(raw), ChunkId.Compute(zstd));
        var dest = new byte[raw.Length];
        Assert.Equal(raw.Length, ChunkFile.DecodeStored(chunk, "t", zlib, dest)); // stored since with another codec: still good
        Assert.Equal(raw, dest);
        Assert.Equal(raw.Length, ChunkFile.DecodeStored(ChunkId.Compute(raw), "t", zlib, dest)); // format 1: no stored digest
    }

    [Fact]
    public void A_damaged_file_is_refused_naming_the_chunk()
    {
        byte[] raw = Raw(), file = Encode(raw, ChunkCodec.None);
        var chunk = new ChunkRef(ChunkId.Compute(raw), ChunkId.Compute(file));
        file[ChunkFile.HeaderSize + 100] ^= 0x40; // still decodes (stored codec), to the wrong bytes
        var e = Assert.Throws<ChunkIntegrityException>(() => ChunkFile.DecodeStored(chunk, "mirror-a", file, new byte[raw.Length]));
        Assert.Contains(chunk.Id.ToHex(), e.Message, StringComparison.Ordinal);
        Assert.Contains("mirror-a", e.Message, StringComparison.Ordinal);
    }
}
