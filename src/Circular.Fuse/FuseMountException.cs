using Circular.Core.Errors;

namespace Circular.Fuse;

/// <summary>Mounting or serving the FUSE file system failed; the message is one line meant for the user.</summary>
public sealed class FuseMountException : CircularException
{
    public FuseMountException(string message) : base(message) { }
    public FuseMountException(string message, Exception inner) : base(message, inner) { }
}
