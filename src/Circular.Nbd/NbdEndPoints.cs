using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Circular.Core.Errors;

namespace Circular.Nbd;

/// <summary>Turns command-line listen addresses into endpoints for <see cref="NbdServer.ServeAsync"/>.</summary>
public static class NbdEndPoints
{
    /// <summary>The IANA-assigned NBD port.</summary>
    public const int DefaultPort = 10809;

    /// <summary>
    /// Parses "HOST:PORT", "HOST", ":PORT", "[IPv6]:PORT" or "IPv6". HOST may be a name ("localhost"), resolved
    /// now; an empty host means all interfaces. The port defaults to 10809; 0 asks the system for a free one.
    /// </summary>
    /// <exception cref="UsageException">Malformed address or port, or a name that does not resolve.</exception>
    public static IPEndPoint ParseListen(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string host = text;
        int port = DefaultPort;

        // A bare IPv6 address has several colons and no port; "[::1]:N" is handled below (TryParse would
        // accept it too, silently dropping the port).
        if (!text.StartsWith('[') && text.IndexOf(':') != text.LastIndexOf(':') && IPAddress.TryParse(text, out IPAddress? bare))
            return new IPEndPoint(bare, port);

        int colon = text.LastIndexOf(':');
        if (colon >= 0)
        {
            host = text[..colon];
            string portText = text[(colon + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > IPEndPoint.MaxPort)
                throw new UsageException($"bad port \"{portText}\" in listen address \"{text}\"");
        }
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];

        if (host.Length == 0)
            return new IPEndPoint(IPAddress.Any, port);
        if (IPAddress.TryParse(host, out IPAddress? address))
            return new IPEndPoint(address, port);
        try
        {
            IPAddress[] addresses = Dns.GetHostAddresses(host);
            // Prefer IPv4: "localhost" then matches what nbd://localhost clients usually try first.
            foreach (IPAddress candidate in addresses)
            {
                if (candidate.AddressFamily == AddressFamily.InterNetwork)
                    return new IPEndPoint(candidate, port);
            }
            if (addresses.Length > 0)
                return new IPEndPoint(addresses[0], port);
        }
        catch (SocketException)
        {
            // Reported below.
        }
        throw new UsageException($"cannot resolve host \"{host}\" in listen address \"{text}\"");
    }

    /// <summary>A Unix-socket endpoint; clients connect with nbd+unix:///EXPORT?socket=PATH.</summary>
    public static UnixDomainSocketEndPoint Unix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new UnixDomainSocketEndPoint(Path.GetFullPath(path));
    }
}
