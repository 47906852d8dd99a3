using Circular.Imaging.Images;

namespace Circular.Nbd;

/// <summary>
/// The one place where failures become NBD wire errors, so every command reports the same error for the
/// same cause (nbdkit's nbd_errno()).
/// </summary>
public static class NbdErrors
{
    public static NbdError FromException(Exception exception) => exception switch {
        ReadOnlyImageException => NbdError.Perm,
        ArgumentOutOfRangeException => NbdError.Inval,
        // Cancellation here means the server or the connection is going away, not that the request was bad.
        OperationCanceledException => NbdError.Shutdown,
        NotSupportedException => NbdError.NotSup,
        OutOfMemoryException => NbdError.NoMem,
        _ => NbdError.Io,
    };
}
