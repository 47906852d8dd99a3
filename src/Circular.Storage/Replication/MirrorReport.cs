using Circular.Core.Signing;
using Microsoft.Extensions.Logging;

namespace Circular.Storage.Replication;

/// <summary>What one mirror run is told.</summary>
public sealed record MirrorOptions
{
    /// <summary>Only these images (null or empty: all).</summary>
    public IReadOnlyList<string>? Images { get; init; }
    /// <summary>Keys the source must be signed by (--trust); empty: the destination's announced keys, else the source's.</summary>
    public IReadOnlyList<VerifyingKey> TrustedKeys { get; init; } = [];
    /// <summary>Chunk copies in flight.</summary>
    public int Parallelism { get; init; } = 16;
    /// <summary>Called when a batch of chunk copies starts (what, how many, how many done so far); the result is disposed when it ends.</summary>
    public Func<string, long, Func<long>, IDisposable?>? Progress { get; init; }
    public ILogger? Log { get; init; }
}

/// <summary>The result of one mirror run.</summary>
public sealed record MirrorReport
{
    public List<MirrorImage> Images { get; } = [];
    /// <summary>Images whose refs were not advanced, and why (a corrupt or unsigned source object, a replay).</summary>
    public List<MirrorProblem> Problems { get; } = [];
    public bool Signed { get; init; }
    public IReadOnlyList<string> KeysTrustedOnFirstUse { get; init; } = [];
    public long ObjectsCopied { get; set; }
    public long BytesCopied { get; set; }
    public long SourceRequests { get; set; }
}

public sealed record MirrorImage(string Image, long Serial, int VersionsCopied, bool UpToDate);

public sealed record MirrorProblem(string Image, string Detail);
