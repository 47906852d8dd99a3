using System.Security.Cryptography;
using Circular.Core.Errors;

namespace Circular.Core.Signing;

/// <summary>
/// A private ECDSA P-256 key (PKCS#8 PEM on disk, mode 0600). Signatures are IEEE P1363 (r || s, 64 bytes) over the
/// SHA-256 of the message: fixed size and the form other ECDSA libraries expect for "ecdsa-p256-sha256".
/// </summary>
public sealed class SigningKey : IDisposable
{
    public const string Algorithm = "ecdsa-p256-sha256";
    private readonly ECDsa _key;

    private SigningKey(ECDsa key)
    {
        _key = key;
        Public = VerifyingKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo());
    }

    public VerifyingKey Public { get; }
    public string Id => Public.Id;

    public static SigningKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public static SigningKey Load(string path)
    {
        string pem;
        try { pem = File.ReadAllText(path); }
        catch (FileNotFoundException) { throw new NotFoundException($"key {path} does not exist (create one with 'circular key generate')"); }
        catch (DirectoryNotFoundException) { throw new NotFoundException($"key {path} does not exist (create one with 'circular key generate')"); }
        var key = ECDsa.Create();
        try { key.ImportFromPem(pem); }
        catch (ArgumentException) { key.Dispose(); throw new UsageException($"{path} is not a PEM private key"); }
        catch (CryptographicException) { key.Dispose(); throw new UsageException($"{path} is not an ECDSA private key"); }
        if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
        {
            key.Dispose();
            throw new UsageException($"{path} is not a P-256 key");
        }
        try { key.ExportParameters(true); }
        catch (CryptographicException) { key.Dispose(); throw new UsageException($"{path} is a public key; signing needs the private key file"); }
        return new SigningKey(key);
    }

    /// <summary>Writes the private key (created 0600 before any byte is written) and PATH.pub.</summary>
    public void Save(string path)
    {
        if (File.Exists(path)) throw new UsageException($"{path} exists; not overwriting a key");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var w = new StreamWriter(new FileStream(path, options)))
            w.Write(_key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(path + ".pub", Public.ToPem());
    }

    public byte[] Sign(ReadOnlySpan<byte> message) =>
        _key.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose() => _key.Dispose();
}
