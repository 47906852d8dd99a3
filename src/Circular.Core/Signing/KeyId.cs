using System.Security.Cryptography;

namespace Circular.Core.Signing;

/// <summary>A key's id: the first 16 hex digits of the SHA-256 of its SubjectPublicKeyInfo (DER).</summary>
public static class KeyId
{
    public static string Of(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo))[..16];

    public static bool IsValid(string id) => id.Length == 16 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
