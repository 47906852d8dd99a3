using System.CommandLine;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Cache;

namespace Circular.Cli.Composition;

/// <summary>Options every reading command shares: where the archive is and how to reach and cache it.</summary>
/// <param name="readMirrors">False for commands whose --mirror names mirrors for booted machines, not for reading now.</param>
public sealed class ClientOptions(bool readMirrors = true)
{
    public Option<string[]> Mirrors { get; } = new("--mirror") {
        Description = "Another URL of the same archive (repeatable); the fastest answering mirror is preferred, the others take over on failure",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<string?> Cache { get; } = new("--cache") { Description = "Local chunk cache directory (default: ~/.cache/circular; 'none' disables it)" };
    public Option<string?> CacheSize { get; } = new("--cache-size") { Description = "Cache quota, e.g. 10G (default 4G); least recently used chunks are evicted" };
    public Option<string[]> Trust { get; } = new("--trust") {
        Description = "Accept only refs and manifests signed by this public key (KEY.pub; repeatable). Without it, a signed archive's key is pinned on first use",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for a server before trying another or failing", DefaultValueFactory = _ => 10 };

    public void AddTo(Command cmd)
    {
        if (readMirrors) cmd.Options.Add(Mirrors);
        cmd.Options.Add(Cache);
        cmd.Options.Add(CacheSize);
        cmd.Options.Add(Timeout);
        cmd.Options.Add(Trust);
    }

    /// <summary>The client options these flags give for the archive or image at <paramref name="location"/>.</summary>
    public ArchiveClientOptions Read(ParseResult pr, string location)
    {
        string? cache = pr.GetValue(Cache);
        double timeout = pr.GetValue(Timeout);
        if (!(timeout > 0)) throw new UsageException("--timeout must be positive");
        return new ArchiveClientOptions {
            Location = location,
            Backend = ArchiveStores.OpenReadBackend(pr, location),
            Mirrors = readMirrors ? pr.GetValue(Mirrors) ?? [] : [],
            CacheDirectory = cache is "none" ? null : cache ?? DiskCache.DefaultRoot(),
            CacheQuota = pr.GetValue(CacheSize) is { } q ? ByteSize.Parse(q) : DiskCache.DefaultQuota,
            Timeout = TimeSpan.FromSeconds(timeout),
            Trust = new TrustOptions { KeyFiles = pr.GetValue(Trust) ?? [] },
            Log = ConsoleLog.Instance,
        };
    }
}
