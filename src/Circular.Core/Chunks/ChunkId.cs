using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Circular.Core.Chunks;

/// <summary>
/// The SHA-256 of a chunk's uncompressed bytes: the chunk's name in every store.
/// The all-zero id is reserved: in a manifest it marks a block of zeros that is not stored.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct ChunkId : IEquatable<ChunkId>, IComparable<ChunkId>
{
    public const int Size = 32;

    private readonly ulong _a, _b, _c, _d;

    private ChunkId(ulong a, ulong b, ulong c, ulong d) { _a = a; _b = b; _c = c; _d = d; }

    public static ChunkId Zero => default;

    public bool IsZero => (_a | _b | _c | _d) == 0;

    public static ChunkId FromBytes(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != Size) throw new ArgumentException($"a chunk id is {Size} bytes, got {hash.Length}", nameof(hash));
        return new ChunkId(
            BinaryPrimitives.ReadUInt64BigEndian(hash),
            BinaryPrimitives.ReadUInt64BigEndian(hash[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(hash[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(hash[24..]));
    }

    /// <summary>Hashes uncompressed chunk data.</summary>
    public static ChunkId Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> h = stackalloc byte[Size];
        SHA256.HashData(data, h);
        return FromBytes(h);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var b = new byte[Size];
        WriteTo(b);
        return b;
    }

    public string ToHex()
    {
        Span<byte> b = stackalloc byte[Size];
        WriteTo(b);
        return Convert.ToHexStringLower(b);
    }

    /// <summary>First 12 hex digits, for messages.</summary>
    public string Short => ToHex()[..12];

    public static bool TryParse(string? hex, out ChunkId id)
    {
        id = default;
        if (hex is null || hex.Length != Size * 2) return false;
        Span<byte> b = stackalloc byte[Size];
        if (Convert.FromHexString(hex, b, out _, out int written) != System.Buffers.OperationStatus.Done || written != Size) return false;
        id = FromBytes(b);
        return true;
    }

    public static ChunkId Parse(string hex) =>
        TryParse(hex, out var id) ? id : throw new FormatException($"not a chunk id: '{hex}'");

    public bool Equals(ChunkId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
    public override bool Equals(object? obj) => obj is ChunkId o && Equals(o);
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32) ^ (int)_b;
    public int CompareTo(ChunkId other)
    {
        int c = _a.CompareTo(other._a);
        if (c != 0) return c;
        c = _b.CompareTo(other._b);
        if (c != 0) return c;
        c = _c.CompareTo(other._c);
        return c != 0 ? c : _d.CompareTo(other._d);
    }
    public static bool operator ==(ChunkId l, ChunkId r) => l.Equals(r);
    public static bool operator !=(ChunkId l, ChunkId r) => !l.Equals(r);
    public override string ToString() => ToHex();
}
