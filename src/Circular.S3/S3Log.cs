using Microsoft.Extensions.Logging;

namespace Circular.S3;

/// <summary>What the S3 store reports (source-generated, like the other layers' logs).</summary>
internal static partial class S3Log
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "waiting for the archive's '{Name}' lock, held by {Holder}; a holder that died releases it within {Seconds} s")]
    public static partial void WaitingForLock(ILogger logger, string name, string holder, int seconds);
}
