using System.Diagnostics;
using Circular.Storage.Prefetch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Imaging.HotData;

/// <summary>How a client uses (and records) the hot data of the versions it opens.</summary>
public sealed record HotDataOptions
{
    /// <summary>Prefetch a version's profiled chunks and packs in the background when it has a profile.</summary>
    public bool Prefetch { get; init; } = true;
    /// <summary>Serve the regions a version's pack index lists from its packs.</summary>
    public bool Packs { get; init; } = true;
    /// <summary>Record the first version opened into a boot profile written to this file when the run ends.</summary>
    public string? RecordProfile { get; init; }
    /// <summary>Running since the run started: profile times count from it.</summary>
    public Stopwatch Clock { get; init; } = Stopwatch.StartNew();
    public PrefetchOptions Prefetcher { get; init; } = new();
    /// <summary>
    /// Memory the layers of versions opened earlier may keep (block lists and decoded packs; 256 MiB): beyond it the
    /// least recently opened version's layers are let go. The latest version opened is kept whatever its size.
    /// </summary>
    public long MaxRetainedBytes { get; init; } = DefaultMaxRetainedBytes;
    public const long DefaultMaxRetainedBytes = 256L << 20;
    /// <summary>Warnings and the end-of-run summary.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;
}
