using Circular.Core.Errors;

namespace Circular.S3;

/// <summary>An archive in a bucket: <c>s3://BUCKET/PREFIX</c>; objects are laid out under PREFIX exactly as in a directory.</summary>
public sealed record S3Location(string Bucket, string Prefix)
{
    public const string Scheme = "s3://";

    public static bool IsS3(string location) => location.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    public static S3Location Parse(string location)
    {
        if (!IsS3(location)) throw new UsageException($"not an s3:// location: '{location}'");
        string rest = location[Scheme.Length..].Trim('/');
        int slash = rest.IndexOf('/');
        string bucket = slash < 0 ? rest : rest[..slash];
        string prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '.'))
            throw new UsageException($"'{location}': '{bucket}' is not an S3 bucket name (3-63 lowercase letters, digits, '-' or '.')");
        if (prefix.Split('/').Any(p => p is "" or "." or ".."))
            throw new UsageException($"'{location}': the prefix must not hold empty, '.' or '..' parts");
        return new S3Location(bucket, prefix);
    }

    /// <summary>The object key of an archive-relative path.</summary>
    public string Key(string path) => Prefix.Length == 0 ? path : $"{Prefix}/{path}";

    /// <summary>The archive-relative path of an object key under this prefix.</summary>
    public string Relative(string key) => Prefix.Length == 0 ? key : key[(Prefix.Length + 1)..];

    public override string ToString() => Prefix.Length == 0 ? $"{Scheme}{Bucket}" : $"{Scheme}{Bucket}/{Prefix}";
}
