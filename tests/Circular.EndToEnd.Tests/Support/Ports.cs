using System.Net;
using System.Net.Sockets;

namespace Circular.EndToEnd.Tests.Support;

public static class Ports
{
    /// <summary>A loopback port that was free a moment ago (bound to port 0, then released).</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
