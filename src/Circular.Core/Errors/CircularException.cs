namespace Circular.Core.Errors;

/// <summary>
/// An error meant for the user: its message is printed as the one-line reason for a non-zero exit. Its
/// <see cref="Kind"/> is what every front end maps to its own codes (exit status, NBD and FUSE errno, HTTP status).
/// </summary>
public class CircularException : Exception
{
    public CircularException(string message) : base(message) { }
    public CircularException(string message, Exception inner) : base(message, inner) { }

    public virtual ErrorKind Kind => ErrorKind.Failed;
}

/// <summary>Bad arguments: a malformed name, size or version (exit code 2).</summary>
public sealed class UsageException(string message) : CircularException(message)
{
    public override ErrorKind Kind => ErrorKind.Usage;
}

/// <summary>Something asked for does not exist: an image, version, tag or archive.</summary>
public sealed class NotFoundException(string message) : CircularException(message)
{
    public override ErrorKind Kind => ErrorKind.NotFound;
}

/// <summary>The thing is there but refuses writes: a read-only export, an archive served over HTTP.</summary>
public class ReadOnlyException(string message) : CircularException(message)
{
    public override ErrorKind Kind => ErrorKind.ReadOnly;
}
