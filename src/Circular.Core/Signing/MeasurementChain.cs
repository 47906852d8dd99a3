using System.Security.Cryptography;

namespace Circular.Core.Signing;

/// <summary>
/// A running hash chain extended like a TPM 2.0 SHA-256 PCR: chain' = SHA-256(chain || value), from 32 zero bytes.
/// Each value is 32 bytes (a manifest digest or a chunk id), exactly what tpm2_pcrextend takes as a sha256 digest,
/// so a fresh PCR extended with the same values ends equal to <see cref="Value"/>.
/// </summary>
public sealed class MeasurementChain
{
    private readonly byte[] _value = new byte[32];

    public ReadOnlySpan<byte> Value => _value;
    public string Hex => Convert.ToHexStringLower(_value);

    public void Extend(ReadOnlySpan<byte> value)
    {
        if (value.Length != 32) throw new ArgumentException("a measured value is 32 bytes", nameof(value));
        Span<byte> buf = stackalloc byte[64];
        _value.CopyTo(buf);
        value.CopyTo(buf[32..]);
        SHA256.HashData(buf, _value);
    }
}
