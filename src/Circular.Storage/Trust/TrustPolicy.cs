using System.Globalization;
using System.Security.Cryptography;
using Circular.Core.Errors;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Storage.Trust;

/// <summary>
/// What a client accepts from a signed archive (docs/format.md, "Signatures"): refs and manifests signed by one of
/// <see cref="Keys"/>, refs not past their signed expiry (freeze) and not older than the newest serial already seen
/// (replay) unless a version was asked for by number. Every failure is a <see cref="TrustException"/>.
/// </summary>
public sealed class TrustPolicy(IReadOnlyList<VerifyingKey> keys, TrustState? state, ILogger? log, Func<DateTimeOffset>? clock = null)
{
    public IReadOnlyList<VerifyingKey> Keys { get; } = keys;
    public TrustState? State { get; } = state;

    private DateTimeOffset Now => clock?.Invoke() ?? DateTimeOffset.UtcNow;

    /// <summary>Checks that <paramref name="sigBytes"/> is a valid signature by a trusted key over <paramref name="data"/> at <paramref name="path"/>.</summary>
    public SignatureFile Verify(string path, byte[] data, byte[]? sigBytes, string what) =>
        VerifyDigest(path, Convert.ToHexStringLower(SHA256.HashData(data)), sigBytes, what);

    /// <summary>
    /// <see cref="Verify"/> for an object known only by its SHA-256 (hex): a manifest whose digest the refs list
    /// (the catalog shows who signed each version without reading every manifest).
    /// </summary>
    public SignatureFile VerifyDigest(string path, string digest, byte[]? sigBytes, string what)
    {
        if (sigBytes is null)
            throw new TrustException($"{what} is not signed ({path}{SignatureFile.Suffix} is missing) but only signed archives are trusted here");
        var sig = SignatureFile.Parse(sigBytes, $"signature of {what}");
        var key = Keys.FirstOrDefault(k => k.Id == sig.KeyId)
            ?? throw new TrustException($"{what} is signed by key {sig.KeyId}, which is not trusted (trusted: {string.Join(", ", Keys.Select(k => k.Id))})");
        if (!sig.VerifiedBy(key)) throw new TrustException($"{what} has a forged or corrupt signature (it does not verify with key {key.Id})");
        if (sig.Statement.Path != path) throw new TrustException($"{what}: its signature is for {sig.Statement.Path}, not {path}");
        if (sig.Statement.Sha256 != digest)
            throw new TrustException($"{what} was altered: sha256 {Short(digest)} is not the signed {Short(sig.Statement.Sha256)}");
        return sig;
    }

    /// <summary>
    /// The refs-only checks after <see cref="Verify"/>: the signed serial is the file's, the signature has not expired,
    /// and the serial is not below the highest seen (unless <paramref name="explicitVersion"/>: a version asked for by
    /// number is served from an older refs file, since its manifest's own signature still vouches for its content).
    /// </summary>
    /// <param name="fromCache">The refs are the client's own last-seen copy, read because no mirror answers: an expired
    /// signature is then accepted with a warning (offline use of what this client already verified; the serial check
    /// still refuses anything older than what it has seen).</param>
    public void CheckRefs(string image, ImageRefs refs, SignatureFile sig, bool explicitVersion, string what, bool fromCache = false)
    {
        if (sig.Statement.Serial != refs.Serial)
            throw new TrustException($"{what}: serial {refs.Serial} is not the signed serial {sig.Statement.Serial?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}");
        if (sig.Statement.ExpiresAt is not { } expires) throw new TrustException($"{what}: its signature has no expiry");
        if (Now >= expires && fromCache)
            (log ?? NullLogger.Instance).ExpiredRefsOffline(what, Stamp(expires));
        else if (Now >= expires)
            throw new TrustException($"{what} expired at {Stamp(expires)} (signed {Stamp(sig.Statement.SignedAt)}): a mirror may be serving a frozen copy; " +
                "the archive's owner renews it with 'circular key resign'");
        if (State is null) return;
        long highest = State.HighestSerial(sig.KeyId, image);
        if (refs.Serial < highest)
        {
            if (!explicitVersion)
                throw new TrustException($"{what} is a replay: serial {refs.Serial} is older than serial {highest} already seen; " +
                    "a mirror is serving old refs (ask for a version by number, NAME@N, to read it anyway)");
            (log ?? NullLogger.Instance).OlderRefsForNumberedVersion(what, refs.Serial, highest);
            return;
        }
        State.RecordSerial(sig.KeyId, image, refs.Serial);
    }

    private static string Short(string s) => s.Length > 12 ? s[..12] : s;
    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
