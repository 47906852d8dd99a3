using System.CommandLine;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Writing;
#if !GUEST
using Circular.S3;
#endif

namespace Circular.Cli.Composition;

/// <summary>
/// Where an archive location leads: a directory (FileStore), an s3:// location (S3Store), or, for reading only, an
/// http(s) URL (ArchiveClient's own HttpBackend). Every command opens archives through here, so s3:// works wherever
/// a directory does.
/// </summary>
public static class ArchiveStores
{
    /// <summary>Given once on the command line, anywhere: every s3:// location of the command uses it.</summary>
    public static Option<string?> S3Endpoint { get; } = new("--s3-endpoint") {
        Description = "S3-compatible endpoint for s3://BUCKET/PREFIX archives, addressed path-style (default: AWS_ENDPOINT_URL, else AWS itself)",
        Recursive = true,
    };

    public static bool IsS3(string location) => Client.ArchiveLocation.IsS3(location);

    /// <summary>A writable store for a directory or an s3:// location.</summary>
    public static IArchiveStore OpenStore(ParseResult pr, string location)
    {
        if (Client.ArchiveLocation.IsUrl(location))
            throw new UsageException($"{location} is read-only over HTTP: write to the archive's directory or s3:// location (or replicate with 'circular mirror')");
#if GUEST
        if (IsS3(location)) throw new UsageException("this build of circular (the in-guest one) has no S3 support");
#else
        if (IsS3(location)) return new S3Store(OpenS3(pr, location)) { Log = Console.ConsoleLog.Instance };
#endif
        return new FileStore(location);
    }

    /// <summary>Opens the archive at a directory or s3:// location for writing.</summary>
    public static async Task<WritableArchive> OpenWritableAsync(ParseResult pr, string location, CancellationToken ct)
    {
        if (!IsS3(location) && !Client.ArchiveLocation.IsUrl(location) && !Directory.Exists(location))
            throw new NotFoundException($"{location} is not a Circular archive (no such directory)");
        return await WritableArchive.OpenAsync(OpenStore(pr, location), ct).ConfigureAwait(false);
    }

    /// <summary>Creates an archive: a new or empty directory, or an s3:// prefix holding no archive.</summary>
    public static async Task<ArchiveConfig> InitAsync(ParseResult pr, string location, ArchiveConfig config, CancellationToken ct)
    {
        if (!IsS3(location)) return await WritableArchive.InitAsync(location, config, ct).ConfigureAwait(false);
#if GUEST
        throw new UsageException("this build of circular (the in-guest one) has no S3 support");
#else
        var store = new S3Store(OpenS3(pr, location));
        await foreach (var e in store.S3.ListPrefixAsync("", ct).ConfigureAwait(false))
        {
            if (e.Path == ArchiveLayout.ConfigPath) throw new UsageException($"{location} is already a Circular archive");
            if (!e.Path.StartsWith(ArchiveLayout.LocksDir + "/", StringComparison.Ordinal))
                throw new UsageException($"{location} is not empty ({e.Path}); choose an empty prefix");
        }
        return await WritableArchive.InitAsync(store, config, ct).ConfigureAwait(false);
#endif
    }

    /// <summary>
    /// A bare backend for a directory, http(s) URL or s3:// location: no cache, no trust, for commands that verify
    /// what they read themselves (mirror) or only show it (mirrors list). Dispose it when it is IDisposable.
    /// </summary>
    public static IArchiveBackend OpenBareBackend(ParseResult pr, string location, TimeSpan timeout)
    {
        if (Client.ArchiveLocation.IsUrl(location))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri)) throw new UsageException($"not an http(s) URL: '{location}'");
            return new Storage.Http.HttpBackend([uri], new Storage.Http.HttpBackendOptions { Timeout = timeout });
        }
        if (OpenReadBackend(pr, location) is { } s3) return s3;
        if (!Directory.Exists(location)) throw new NotFoundException($"{location} is not a Circular archive (no such directory)");
        return new FileBackend(location);
    }

    /// <summary>The backend reading commands use for an s3:// location (null for directories and URLs, which ArchiveClient opens itself).</summary>
    public static IArchiveBackend? OpenReadBackend(ParseResult pr, string location) =>
#if GUEST
        IsS3(location) ? throw new UsageException("this build of circular (the in-guest one) has no S3 support") : null;
#else
        IsS3(location) ? OpenS3(pr, location) : null;

    private static S3Backend OpenS3(ParseResult pr, string location)
    {
        var where = S3Location.Parse(location);
        var settings = new S3Settings { Endpoint = pr.GetValue(S3Endpoint) };
        return new S3Backend(where, settings.CreateClient());
    }
#endif
}
