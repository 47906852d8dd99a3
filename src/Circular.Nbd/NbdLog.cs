using Microsoft.Extensions.Logging;

namespace Circular.Nbd;

/// <summary>What the NBD server reports; <c>Who</c> is the peer, and the export once one is chosen.</summary>
internal static partial class NbdLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "nbd: listening on {Where}")]
    public static partial void Listening(this ILogger logger, string where);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd: accept failed: {Reason}")]
    public static partial void AcceptFailed(this ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd: {Who}: export \"{Export}\" refused: {Reason}")]
    public static partial void ExportRefused(this ILogger logger, string who, string export, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd: {Who}: export \"{Export}\" could not be opened: {Reason}")]
    public static partial void ExportFailed(this ILogger logger, string who, string export, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd: {Who}: {Command} {Length} bytes at {Offset} failed: {Reason}")]
    public static partial void CommandFailed(this ILogger logger, string who, NbdCommand command, uint length, ulong offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd: {Who}: connection dropped: {Reason}")]
    public static partial void ConnectionDropped(this ILogger logger, string who, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd: {Who}: closing the image failed: {Reason}")]
    public static partial void CloseFailed(this ILogger logger, string who, string reason);
}
