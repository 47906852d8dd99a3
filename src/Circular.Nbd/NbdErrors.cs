using Circular.Core.Errors;

namespace Circular.Nbd;

/// <summary>
/// The one place where failures become NBD wire errors, so every command reports the same error for the
/// same cause (nbdkit's nbd_errno()).
/// </summary>
public static class NbdErrors
{
    /// <summary>The NBD side of the one failure classification (FUSE has the same table in FuseServer.ErrnoFor).</summary>
    public static NbdError FromException(Exception exception) => Failures.Classify(exception) switch {
        ErrorKind.ReadOnly => NbdError.Perm,
        ErrorKind.Usage => NbdError.Inval,
        // Cancellation here means the server or the connection is going away, not that the request was bad.
        ErrorKind.Cancelled => NbdError.Shutdown,
        ErrorKind.NotSupported => NbdError.NotSup,
        ErrorKind.OutOfMemory => NbdError.NoMem,
        ErrorKind.NoSpace => NbdError.NoSpc,
        _ => NbdError.Io,
    };
}
