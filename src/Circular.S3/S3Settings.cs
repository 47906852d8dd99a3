using Amazon.Runtime;
using Amazon.S3;

namespace Circular.S3;

/// <summary>
/// How to reach S3: the SDK's standard chain gives credentials (AWS_ACCESS_KEY_ID..., ~/.aws/credentials and config,
/// instance roles) and the region (AWS_REGION, profile); an endpoint (--s3-endpoint, else AWS_ENDPOINT_URL_S3 or
/// AWS_ENDPOINT_URL) selects an S3-compatible store, addressed path-style (http://HOST/BUCKET/KEY).
/// </summary>
public sealed record S3Settings
{
    /// <summary>An S3-compatible endpoint; null: AWS itself (or the endpoint the environment names).</summary>
    public string? Endpoint { get; init; }
    /// <summary>Per-request deadline.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Parallel requests to the store (the SDK's connection limit).</summary>
    public int MaxConnections { get; init; } = 32;

    public string? EffectiveEndpoint => Endpoint ?? Env("AWS_ENDPOINT_URL_S3") ?? Env("AWS_ENDPOINT_URL");

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    public AmazonS3Client CreateClient()
    {
        var config = new AmazonS3Config {
            Timeout = Timeout,
            MaxErrorRetry = 3,
            MaxConnectionsPerServer = MaxConnections,
            // The archive verifies every object by its own hashes; the SDK's extra checksums would only cost CPU.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        string? region = Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION");
        if (EffectiveEndpoint is { } endpoint)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new Core.Errors.UsageException($"--s3-endpoint '{endpoint}' is not an http(s) URL");
            config.ServiceURL = uri.AbsoluteUri;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region ?? "us-east-1";
        }
        else if (region is not null)
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }
        return new AmazonS3Client(config);
    }
}
