namespace Circular.Client;

/// <summary>What kind of place an archive location names.</summary>
public static class ArchiveLocation
{
    public static bool IsUrl(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}
