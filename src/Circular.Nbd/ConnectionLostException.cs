namespace Circular.Nbd;

/// <summary>
/// Writing to the client failed. Unlike an image error this cannot be reported to the client, so it ends
/// the connection instead of becoming an error reply.
/// </summary>
internal sealed class ConnectionLostException(Exception inner)
    : IOException($"connection lost: {inner.Message}", inner);
