namespace Circular.Core.Errors;

/// <summary>
/// A signature check failed: unsigned, badly signed, signed by an untrusted key, replayed or expired metadata.
/// Nothing the failing object describes may be served.
/// </summary>
public sealed class TrustException(string message) : CircularException(message), IBadCopy
{
    public override ErrorKind Kind => ErrorKind.Untrusted;
}
