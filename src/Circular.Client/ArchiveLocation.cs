namespace Circular.Client;

/// <summary>What kind of place an archive location names.</summary>
public static class ArchiveLocation
{
    public static bool IsUrl(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>An s3://BUCKET/PREFIX location (opened by the front end's store composition, not by the client itself).</summary>
    public static bool IsS3(string location) => location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>A location that is not a local path: a URL or an S3 location.</summary>
    public static bool IsRemote(string location) => IsUrl(location) || IsS3(location);
}
