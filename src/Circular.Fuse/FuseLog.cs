using Microsoft.Extensions.Logging;

namespace Circular.Fuse;

/// <summary>What the FUSE front end reports.</summary>
internal static partial class FuseLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "fuse: mounted on {MountPoint} ({Mode})")]
    public static partial void Mounted(this ILogger logger, string mountPoint, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "fuse: {Signal}, unmounting {MountPoint}")]
    public static partial void UnmountingOnSignal(this ILogger logger, string signal, string mountPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: {MountPoint} is still in use {Seconds} s after unmounting; closing the connection")]
    public static partial void StillInUse(this ILogger logger, string mountPoint, int seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "fuse: unmounted {MountPoint}{After}")]
    public static partial void Unmounted(this ILogger logger, string mountPoint, string after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: unmounting {MountPoint} failed: {Reason}")]
    public static partial void UnmountFailed(this ILogger logger, string mountPoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: cannot start the unmount watchdog ({Reason}); if this process is killed, run: umount -l {MountPoint}")]
    public static partial void NoWatchdog(this ILogger logger, string reason, string mountPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: skipping export {Export}: image or selector cannot be a file name")]
    public static partial void SkippedExport(this ILogger logger, string export);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: reply write failed: {Reason}")]
    public static partial void ReplyFailed(this ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: reading /dev/fuse failed: {Reason}")]
    public static partial void ReadFailed(this ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "fuse: reader thread crashed: {Exception}")]
    public static partial void ReaderCrashed(this ILogger logger, string exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: closing {File} failed: {Reason}")]
    public static partial void CloseFailed(this ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: {Opcode} on node {Node} failed: {Reason}")]
    public static partial void RequestFailed(this ILogger logger, string opcode, ulong node, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fuse: kernel protocol {Major}.{Minor} is not supported")]
    public static partial void UnsupportedKernel(this ILogger logger, uint major, uint minor);

    [LoggerMessage(Level = LogLevel.Debug, Message = "fuse: kernel {Major}.{Minor}, speaking 7.{Ours}, max_readahead {Readahead}")]
    public static partial void Negotiated(this ILogger logger, uint major, uint minor, uint ours, uint readahead);
}
