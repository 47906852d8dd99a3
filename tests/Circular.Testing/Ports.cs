using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Circular.Testing;

/// <summary>Loopback TCP ports for servers a test starts.</summary>
public static class Ports
{
    /// <summary>A loopback port that was free a moment ago (bound to port 0, then released).</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Whether <paramref name="port"/> can be bound on loopback right now.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>
    /// Waits until something accepts connections on the port; false after the timeout, or as soon as
    /// <paramref name="gaveUp"/> (say, the server process exited) is true.
    /// </summary>
    public static async Task<bool> WaitListeningAsync(int port, TimeSpan timeout, Func<bool>? gaveUp = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (gaveUp?.Invoke() == true) return false;
            using var c = new TcpClient();
            try
            {
                await c.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(1));
                return true;
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                await Task.Delay(50);
            }
        }
        return false;
    }
}
