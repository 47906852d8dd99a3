namespace Circular.Nbd;

/// <summary>
/// The client broke the protocol in a way that loses sync (bad magic, oversize payload, unknown flags at
/// handshake). The connection is dropped: NBD has no way to find the next frame boundary again.
/// </summary>
public sealed class NbdProtocolException(string message) : Exception(message);
