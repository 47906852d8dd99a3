namespace Circular.Core.Errors;

/// <summary>
/// What kind of failure an exception is, decided once here (<see cref="Failures.Classify"/>) and mapped once per
/// front end: exit codes in the CLI, errno on the NBD and FUSE wires, status codes in `serve`.
/// </summary>
public enum ErrorKind
{
    /// <summary>A failure with no more specific kind.</summary>
    Failed,
    /// <summary>The caller asked for something malformed or out of range.</summary>
    Usage,
    /// <summary>The image, version, tag, export or archive asked for does not exist.</summary>
    NotFound,
    /// <summary>Writes are refused: a read-only export or source.</summary>
    ReadOnly,
    /// <summary>No mirror or store could be reached in time (offline, refused, timed out).</summary>
    Unavailable,
    /// <summary>Data is damaged: a corrupt or missing chunk, a manifest that does not match its refs, a malformed file.</summary>
    Corrupt,
    /// <summary>A signature check failed: unsigned, forged, replayed or expired metadata.</summary>
    Untrusted,
    /// <summary>The operation is not supported by this source or front end.</summary>
    NotSupported,
    /// <summary>The operation was cancelled because the program or the connection is stopping.</summary>
    Cancelled,
    /// <summary>Memory ran out.</summary>
    OutOfMemory,
    /// <summary>A local file system call failed (permissions, an I/O error).</summary>
    LocalIo,
    /// <summary>A local file system is full (or the user's quota is): the write may succeed once space is freed.</summary>
    NoSpace,
}

public static class Failures
{
    private const int NoSpaceErrno = 28, QuotaErrno = 122;

    /// <summary>The one classification of failures; front ends map its result, never the exception types.</summary>
    public static ErrorKind Classify(Exception e) => e switch {
        CircularException c => c.Kind,
        OperationCanceledException => ErrorKind.Cancelled,
        NotSupportedException => ErrorKind.NotSupported,
        ArgumentOutOfRangeException => ErrorKind.Usage,
        OutOfMemoryException => ErrorKind.OutOfMemory,
        // .NET's IOException carries the errno on Unix: ENOSPC (28) and EDQUOT (122) say "free some space".
        IOException { HResult: NoSpaceErrno or QuotaErrno } => ErrorKind.NoSpace,
        IOException or UnauthorizedAccessException => ErrorKind.LocalIo,
        AggregateException { InnerExceptions.Count: 1 } a => Classify(a.InnerExceptions[0]),
        _ => ErrorKind.Failed,
    };
}
