using System.Security.Cryptography;
using Circular.Core.Archive;
using Circular.Core.Signing;

namespace Circular.Storage.Trust;

/// <summary>
/// Makes the detached signatures a writer publishes: manifests (no expiry: they are immutable, freshness comes from
/// refs) and refs (serial and expiry <see cref="Validity"/> from now).
/// </summary>
public sealed class ArchiveSigner(SigningKey key, TimeSpan validity)
{
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(30);

    public SigningKey Key { get; } = key;
    public TimeSpan Validity { get; } = validity;

    public byte[] SignManifest(string image, int version, byte[] manifest) =>
        SignatureFile.Create(new SignedStatement {
            Path = ArchiveLayout.ManifestPath(image, version),
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(manifest)),
            Timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        }, Key);

    /// <summary>The mirror list: no serial or expiry (an old list can only point at fewer mirrors; each is verified anyway).</summary>
    public byte[] SignMirrorList(byte[] list) =>
        SignatureFile.Create(new SignedStatement {
            Path = ArchiveLayout.MirrorListPath,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(list)),
            Timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        }, Key);

    public byte[] SignRefs(string image, byte[] refs, long serial)
    {
        var now = DateTimeOffset.UtcNow;
        return SignatureFile.Create(new SignedStatement {
            Path = ArchiveLayout.RefsPath(image),
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(refs)),
            Serial = serial,
            Timestamp = now.ToUnixTimeSeconds(),
            Expires = (now + Validity).ToUnixTimeSeconds(),
        }, Key);
    }
}
