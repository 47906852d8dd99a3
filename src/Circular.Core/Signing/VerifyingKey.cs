using System.Security.Cryptography;
using Circular.Core.Errors;

namespace Circular.Core.Signing;

/// <summary>A public ECDSA P-256 key (SubjectPublicKeyInfo PEM) that checks "ecdsa-p256-sha256" signatures.</summary>
public sealed class VerifyingKey
{
    private readonly byte[] _spki;

    private VerifyingKey(byte[] spki)
    {
        _spki = spki;
        Id = KeyId.Of(spki);
    }

    public string Id { get; }

    public static VerifyingKey FromSubjectPublicKeyInfo(byte[] spki)
    {
        using var k = ECDsa.Create();
        try { k.ImportSubjectPublicKeyInfo(spki, out _); }
        catch (CryptographicException) { throw new UsageException("not an ECDSA public key"); }
        if (k.KeySize != 256) throw new UsageException("not a P-256 public key");
        return new VerifyingKey(spki);
    }

    /// <summary>Parses a PEM public key; <paramref name="what"/> names it in errors.</summary>
    public static VerifyingKey FromPem(string pem, string what)
    {
        using var k = ECDsa.Create();
        try { k.ImportFromPem(pem); }
        catch (ArgumentException) { throw new UsageException($"{what} is not a PEM public key"); }
        catch (CryptographicException) { throw new UsageException($"{what} is not an ECDSA public key"); }
        if (k.KeySize != 256) throw new UsageException($"{what} is not a P-256 key");
        return new VerifyingKey(k.ExportSubjectPublicKeyInfo());
    }

    public static VerifyingKey Load(string path)
    {
        if (!File.Exists(path)) throw new NotFoundException($"public key {path} does not exist");
        return FromPem(File.ReadAllText(path), path);
    }

    public string ToPem() => PemEncoding.WriteString("PUBLIC KEY", _spki) + "\n";

    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        using var k = ECDsa.Create();
        k.ImportSubjectPublicKeyInfo(_spki, out _);
        return k.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }
}
