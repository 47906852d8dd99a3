using System.Text;
using System.Text.Json;
using Circular.Core.Errors;
using Circular.Core.Json;

namespace Circular.Core.Signing;

/// <summary>
/// A detached signature (OBJECT.sig, docs/format.md "Signatures"):
/// <c>{"format":"circular-signature","formatVersion":1,"keyId":…,"algorithm":"ecdsa-p256-sha256","signed":{…},"signature":"base64"}</c>.
/// The signature covers the exact UTF-8 bytes of the <c>signed</c> value as they appear in the file, so no JSON
/// canonicalisation is needed: writers emit it compactly and verifiers never re-serialise it.
/// </summary>
public sealed class SignatureFile
{
    public const string FormatName = "circular-signature";
    public const int CurrentFormatVersion = 1;
    public const string Suffix = Archive.ArchiveLayout.SignatureSuffix;

    private SignatureFile(string keyId, string algorithm, SignedStatement statement, byte[] signedBytes, byte[] signature)
    {
        KeyId = keyId;
        Algorithm = algorithm;
        Statement = statement;
        SignedBytes = signedBytes;
        Signature = signature;
    }

    public string KeyId { get; }
    public string Algorithm { get; }
    public SignedStatement Statement { get; }
    /// <summary>The bytes the signature covers.</summary>
    public byte[] SignedBytes { get; }
    public byte[] Signature { get; }

    public static byte[] Create(SignedStatement statement, SigningKey key)
    {
        byte[] signed = JsonSerializer.SerializeToUtf8Bytes(statement, CompactFormatJson.Default.SignedStatement);
        byte[] sig = key.Sign(signed);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("formatVersion", CurrentFormatVersion);
            w.WriteString("keyId", key.Id);
            w.WriteString("algorithm", SigningKey.Algorithm);
            w.WritePropertyName("signed");
            w.WriteRawValue(signed, skipInputValidation: true);
            w.WriteString("signature", Convert.ToBase64String(sig));
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>Parses (does not verify) a signature file; <paramref name="what"/> names it in errors.</summary>
    public static SignatureFile Parse(ReadOnlySpan<byte> bytes, string what)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Str(root, "format") != FormatName)
                throw new TrustException($"{what} is not a Circular signature file");
            if (!root.TryGetProperty("formatVersion", out var fv) || fv.GetInt32() != CurrentFormatVersion)
                throw new TrustException($"{what} has a signature format version this program does not read (it reads {CurrentFormatVersion})");
            string keyId = Str(root, "keyId") ?? throw new TrustException($"{what} names no key");
            string alg = Str(root, "algorithm") ?? "";
            if (alg != SigningKey.Algorithm) throw new TrustException($"{what} uses algorithm '{alg}'; only {SigningKey.Algorithm} is accepted");
            if (!root.TryGetProperty("signed", out var signed) || signed.ValueKind != JsonValueKind.Object)
                throw new TrustException($"{what} has no signed statement");
            byte[] signedBytes = Encoding.UTF8.GetBytes(signed.GetRawText());
            var statement = signed.Deserialize(CompactFormatJson.Default.SignedStatement) ?? throw new TrustException($"{what} has no signed statement");
            byte[] sig = Convert.FromBase64String(Str(root, "signature") ?? throw new TrustException($"{what} has no signature"));
            return new SignatureFile(keyId, alg, statement, signedBytes, sig);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new TrustException($"{what} is corrupt: {(e is JsonException j ? Json.JsonErrors.Describe(j) : e.Message)}");
        }
    }

    /// <summary>True when <paramref name="key"/> made this signature over <see cref="SignedBytes"/>.</summary>
    public bool VerifiedBy(VerifyingKey key) => key.Id == KeyId && key.Verify(SignedBytes, Signature);

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
