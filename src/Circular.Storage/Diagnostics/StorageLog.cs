using Microsoft.Extensions.Logging;

namespace Circular.Storage.Diagnostics;

/// <summary>What the storage layer reports: one source-generated method per message (no formatting unless enabled).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot write to the cache {Root} ({Reason}); reading on without caching: offline use will lack what is read now")]
    public static partial void CacheUnwritable(this ILogger logger, string root, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot read the cache {Root} ({Reason}); reading what it fails to give from the archive")]
    public static partial void CacheUnreadable(this ILogger logger, string root, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Location} is unreachable; working offline from the cache ({Since})")]
    public static partial void WorkingOffline(this ILogger logger, string location, string since);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What}: the signature expired at {Expired}; using this client's last verified copy while offline")]
    public static partial void ExpiredRefsOffline(this ILogger logger, string what, string expired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} has serial {Serial}, older than {Highest} already seen; serving the version asked for by number")]
    public static partial void OlderRefsForNumberedVersion(this ILogger logger, string what, long serial, long highest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "trusting key {Keys} of {Location} on first use (pinned in {Pin}); from now on only archives signed by it are accepted here. Pass --trust KEY.pub to pin a key you checked.")]
    public static partial void TrustedOnFirstUse(this ILogger logger, string keys, string location, string pin);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Location} is unreachable (reading {Path}); waiting up to {Seconds} s for the network")]
    public static partial void WaitingForNetwork(this ILogger logger, string location, string path, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Location} answers again after {Seconds} s")]
    public static partial void NetworkBack(this ILogger logger, string location, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ignoring the mirror list of {Location}: {Reason}")]
    public static partial void MirrorListIgnored(this ILogger logger, string location, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Location} lists {Count} more mirror(s): {Urls}")]
    public static partial void MirrorsLearned(this ILogger logger, string location, int count, string urls);
}
