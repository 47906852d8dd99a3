using System.Buffers.Binary;
using System.Security.Cryptography;
using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Core.Manifests;

/// <summary>
/// A format 2 manifest written as the changes to its parent's (docs/format.md, "Manifest patches"): runs of entries
/// copied from the parent, entries of its own, and its header and metadata verbatim. Only a transport: applying it
/// rebuilds the manifest's exact bytes, which the reader then checks against the digest its refs name, as for a
/// manifest fetched whole. A client holding the parent downloads the few kilobytes of a patch instead of a manifest
/// that, at a 32 KiB average, is mostly incompressible hashes.
/// </summary>
public static class ManifestPatch
{
    public const ushort FormatVersion = 1;
    private static ReadOnlySpan<byte> Magic => "CIRCMPAT"u8;
    private const int HeaderLength = 8 + 2 + 2 + 4 + 32 + 4 + 8; // magic, version, flags, reserved, parent digest, head length, op count
    private const int Entry = 8 + 32 + 32;
    private const byte Copy = 1, Literal = 2;

    /// <summary>
    /// The patch that turns <paramref name="parent"/> (whose file has digest <paramref name="parentDigest"/>) into
    /// <paramref name="childBytes"/>, the serialized format 2 <paramref name="child"/>; null when either is not format 2.
    /// </summary>
    public static byte[]? Create(Manifest parent, string parentDigest, Manifest child, byte[] childBytes)
    {
        if (parent.Version != 2 || child.Version != 2) return null;
        var pm = parent.Map;
        var cm = child.Map;
        // The first parent entry of each (length, id, stored digest): a copy run starts there and extends while equal.
        var first = new Dictionary<(long, ChunkRef), int>(pm.Count);
        for (int i = 0; i < pm.Count; i++) first.TryAdd((pm.Length(i), pm.Ref(i)), i);

        int headLength = childBytes.Length - cm.Count * Entry - 32;
        using var ops = new MemoryStream();
        using var w = new BinaryWriter(ops); // little-endian, as the format
        int opCount = 0;
        int literalStart = -1;
        void FlushLiteral(int upTo)
        {
            if (literalStart < 0) return;
            w.Write(Literal);
            w.Write(upTo - literalStart);
            w.Write(childBytes, headLength + literalStart * Entry, (upTo - literalStart) * Entry);
            opCount++;
            literalStart = -1;
        }
        for (int j = 0; j < cm.Count;)
        {
            if (first.TryGetValue((cm.Length(j), cm.Ref(j)), out int p))
            {
                int n = 1;
                while (j + n < cm.Count && p + n < pm.Count && cm.Length(j + n) == pm.Length(p + n) && cm.Ref(j + n) == pm.Ref(p + n)) n++;
                FlushLiteral(j);
                w.Write(Copy);
                w.Write(p);
                w.Write(n);
                opCount++;
                j += n;
            }
            else
            {
                if (literalStart < 0) literalStart = j;
                j++;
            }
        }
        FlushLiteral(cm.Count);
        w.Flush();

        var patch = new byte[HeaderLength + headLength + ops.Length + 32];
        var s = patch.AsSpan();
        Magic.CopyTo(s);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], FormatVersion);
        Convert.FromHexString(parentDigest).CopyTo(s[16..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[48..], headLength);
        BinaryPrimitives.WriteInt64LittleEndian(s[52..], opCount);
        childBytes.AsSpan(0, headLength).CopyTo(s[HeaderLength..]);
        ops.GetBuffer().AsSpan(0, (int)ops.Length).CopyTo(s[(HeaderLength + headLength)..]);
        SHA256.HashData(s[..^32], s[^32..]);
        return patch;
    }

    /// <summary>The digest of the parent manifest a patch applies to (after checking the patch's frame).</summary>
    public static string ParentDigest(ReadOnlySpan<byte> patch, string what)
    {
        Frame(patch, what);
        return Convert.ToHexStringLower(patch.Slice(16, 32));
    }

    /// <summary>
    /// Rebuilds the manifest file: its bytes, which the caller MUST check against the digest its refs name (a patch
    /// proves nothing by itself). <paramref name="maxLength"/> bounds what a hostile patch can make this allocate.
    /// </summary>
    public static byte[] Apply(ReadOnlySpan<byte> patch, Manifest parent, long maxLength, string what)
    {
        var (headLength, opCount) = Frame(patch, what);
        ArchiveFormatException Bad(string why) => new($"manifest patch {what} is corrupt: {why}");
        if (parent.Version != 2) throw Bad("its parent is not a format 2 manifest");
        var head = patch.Slice(HeaderLength, headLength);
        if (head.Length < 48 || !head[..8].SequenceEqual("CIRCMANF"u8) || BinaryPrimitives.ReadUInt16LittleEndian(head[8..]) != 2)
            throw Bad("its header is not a format 2 manifest's");
        long count = BinaryPrimitives.ReadInt64LittleEndian(head[32..]);
        long total = headLength + count * Entry + 32;
        if (count < 0 || count > Manifest.MaxBlocks || total > maxLength) throw Bad($"it makes a manifest of {count} entries");
        var output = new byte[total];
        var o = output.AsSpan();
        head.CopyTo(o);
        var pm = parent.Map;
        int at = headLength;
        long written = 0, end = 0;
        var ops = patch[(HeaderLength + headLength)..^32];
        for (long k = 0; k < opCount; k++)
        {
            if (ops.Length < 5) throw Bad("an operation is cut short");
            byte kind = ops[0];
            int a = BinaryPrimitives.ReadInt32LittleEndian(ops[1..]);
            if (kind == Copy)
            {
                if (ops.Length < 9) throw Bad("an operation is cut short");
                int n = BinaryPrimitives.ReadInt32LittleEndian(ops[5..]);
                if (a < 0 || n <= 0 || (long)a + n > pm.Count || written + n > count) throw Bad($"a copy of parent entries {a}+{n} is out of range");
                long shift = end - pm.Offset(a);
                for (int i = a; i < a + n; i++, at += Entry)
                {
                    end = pm.End(i) + shift;
                    BinaryPrimitives.WriteInt64LittleEndian(o[at..], end);
                    pm.Id(i).WriteTo(o[(at + 8)..]);
                    pm.StoredDigest(i).WriteTo(o[(at + 40)..]);
                }
                written += n;
                ops = ops[9..];
            }
            else if (kind == Literal)
            {
                if (a <= 0 || written + a > count || ops.Length - 5 < (long)a * Entry) throw Bad($"{a} literal entries are out of range");
                var entries = ops.Slice(5, a * Entry);
                entries.CopyTo(o[at..]);
                at += entries.Length;
                end = BinaryPrimitives.ReadInt64LittleEndian(entries[^Entry..]);
                written += a;
                ops = ops[(5 + a * Entry)..];
            }
            else throw Bad($"unknown operation {kind}");
        }
        if (written != count || !ops.IsEmpty) throw Bad($"it lists {written} entries and {ops.Length} stray bytes, its header {count} entries");
        SHA256.HashData(o[..^32], o[^32..]);
        return output;
    }

    private static (int HeadLength, long OpCount) Frame(ReadOnlySpan<byte> patch, string what)
    {
        ArchiveFormatException Bad(string why) => new($"manifest patch {what} is corrupt or truncated: {why}");
        if (patch.Length < HeaderLength + 32) throw Bad($"only {patch.Length} bytes");
        if (!patch[..8].SequenceEqual(Magic)) throw Bad("bad magic");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(patch[8..]);
        if (version != FormatVersion) throw new ArchiveFormatException($"manifest patch {what} has format version {version}; this program reads version {FormatVersion}");
        if (BinaryPrimitives.ReadUInt16LittleEndian(patch[10..]) != 0 || BinaryPrimitives.ReadInt32LittleEndian(patch[12..]) != 0) throw Bad("reserved fields are not zero");
        int headLength = BinaryPrimitives.ReadInt32LittleEndian(patch[48..]);
        long opCount = BinaryPrimitives.ReadInt64LittleEndian(patch[52..]);
        if (headLength < 0 || headLength > patch.Length - HeaderLength - 32 || opCount < 0) throw Bad("header lengths");
        Span<byte> sum = stackalloc byte[32];
        SHA256.HashData(patch[..^32], sum);
        if (!sum.SequenceEqual(patch[^32..])) throw Bad("checksum mismatch");
        return (headLength, opCount);
    }
}
