namespace Circular.Core.Archive;

/// <summary>
/// The Cache-Control every server of an archive gives its objects (serve, and S3 objects as they are written, so a
/// CDN or proxy in front of a bucket caches them the same way): immutable objects forever, mutable ones (refs, the
/// image list, keys) briefly, so a new version is seen within that many seconds (docs/deploy.md).
/// </summary>
public static class CachePolicy
{
    public const string Immutable = "public, max-age=31536000, immutable";
    public const string Short = "public, max-age=10";

    public static string For(ObjectHandle handle) => handle.IsImmutable ? Immutable : Short;

    /// <summary>The media type an object is served and stored with: binary files, JSON, or PEM keys.</summary>
    public static string ContentType(ObjectHandle handle) => handle.Kind switch {
        ObjectKind.Chunk or ObjectKind.Pack or ObjectKind.Manifest or ObjectKind.ManifestPatch => "application/octet-stream",
        ObjectKind.PublicKey => "application/x-pem-file",
        _ => "application/json",
    };
}
