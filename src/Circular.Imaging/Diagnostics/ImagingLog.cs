using Microsoft.Extensions.Logging;

namespace Circular.Imaging.Diagnostics;

/// <summary>What the image layers report (hot data: profiles, packs, prefetching).</summary>
internal static partial class ImagingLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "ignoring the packs of {Version}: they were built for another manifest")]
    public static partial void PacksForAnotherManifest(this ILogger logger, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "not using the {What}: {Reason}")]
    public static partial void HotDataUnusable(this ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "reading {Version} without pack {Pack}: {Reason}")]
    public static partial void PackUnusable(this ILogger logger, string version, int pack, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "prefetched {Done} of {Total} objects ({Bytes}) in {Seconds} s, up to {Peak} at once{Failures}")]
    public static partial void Prefetched(this ILogger logger, int done, int total, string bytes, string seconds, int peak, string failures);

    [LoggerMessage(Level = LogLevel.Debug, Message = "prefetch of {Version} finished: {Done} of {Total} objects ({Bytes}) in {Seconds} s")]
    public static partial void PrefetchFinished(this ILogger logger, string version, int done, int total, string bytes, string seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "packs: {Loaded} of {Count} loaded ({Bytes})")]
    public static partial void PacksLoaded(this ILogger logger, int loaded, int count, string bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "packs of {Version}: {Unneeded} of {Count} not fetched, this client holds most of their data as chunks already")]
    public static partial void PacksHeldAsChunks(this ILogger logger, string version, int unneeded, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "recorded a profile of {Version}: {Reads} reads, {Bytes} → {Path}")]
    public static partial void ProfileRecorded(this ILogger logger, string version, int reads, string bytes, string path);
}
