using System.CommandLine;

namespace Circular.Cli.Composition;

/// <summary>Options every reading command shares: where the archive is and how to reach and cache it.</summary>
public sealed class ClientOptions
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
        cmd.Options.Add(Mirrors);
        cmd.Options.Add(Cache);
        cmd.Options.Add(CacheSize);
        cmd.Options.Add(Timeout);
        cmd.Options.Add(Trust);
    }

    public ClientSettings Read(ParseResult pr) =>
        new(pr.GetValue(Mirrors) ?? [], pr.GetValue(Cache), pr.GetValue(CacheSize), TimeSpan.FromSeconds(pr.GetValue(Timeout))) {
            TrustKeys = pr.GetValue(Trust) ?? [],
        };
}

public sealed record ClientSettings(string[] Mirrors, string? CacheDir, string? CacheSize, TimeSpan Timeout)
{
    /// <summary>Public key files given with --trust; empty means trust on first use for signed archives.</summary>
    public string[] TrustKeys { get; init; } = [];
    /// <summary>Where pinned keys and seen serials are kept (null: TrustState.DefaultRoot()).</summary>
    public string? TrustStateDir { get; init; }
}
