using System.Net.Sockets;
using System.Security.Authentication;

namespace Circular.Storage.Http;

/// <summary>The reason an HTTP exchange failed, in words a user can act on.</summary>
public static class HttpErrors
{
    /// <summary>
    /// .NET's HttpClient says "The SSL connection could not be established, see inner exception" where the reason
    /// (an untrusted certificate, a name mismatch) is one level down, which a one-line error would never show.
    /// </summary>
    public static string Describe(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException tls)
                return $"TLS handshake failed: {tls.Message} (a private CA is trusted through the system's store or SSL_CERT_FILE)";
            if (inner is SocketException socket && !e.Message.Contains(socket.Message, StringComparison.Ordinal))
                return $"{e.Message} ({socket.Message})";
        }
        return e.Message;
    }
}
