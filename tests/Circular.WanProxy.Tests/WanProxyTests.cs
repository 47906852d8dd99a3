using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Circular.Bench.WanProxy;

namespace Circular.WanProxy.Tests;

// Lower bounds only: a busy 2-core machine can make anything slower, never faster than the emulated link.
public class WanProxyTests
{
    private static readonly IPEndPoint Loopback = new(IPAddress.Loopback, 0);
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task A_request_costs_the_handshake_rtt_and_then_one_rtt_per_round_trip()
    {
        using var echo = Listen();
        _ = Task.Run(async () =>
        {
            using Socket s = await echo.AcceptAsync();
            var buf = new byte[16];
            int n;
            while ((n = await s.ReceiveAsync(buf)) > 0)
            {
                await s.SendAsync(buf.AsMemory(0, n));
            }
        });
        var rtt = TimeSpan.FromMilliseconds(100);
        await using var proxy = new WanProxyServer(Loopback, echo.LocalEndPoint!, new LinkSettings(rtt, 0)) { Log = Console.Error.WriteLine };
        proxy.Start();

        var clock = Stopwatch.StartNew();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(proxy.LocalEndPoint);
        await RoundTripAsync(client);
        TimeSpan firstTotal = clock.Elapsed;
        TimeSpan second = await RoundTripAsync(client);

        // The handshake RTT, then RTT/2 each way; a millisecond of slack for timer rounding. The first reply is timed
        // from before the connect: the proxy charges the handshake from its accept, which a loaded machine can run
        // before this test's code after the connect does.
        Assert.True(firstTotal >= 2 * rtt - Slack, $"first reply after {firstTotal.TotalMilliseconds} ms");
        Assert.True(second >= rtt - Slack, $"second round trip {second.TotalMilliseconds} ms");
        Assert.Equal(1, proxy.Stats.Connections);
        Assert.Equal(2, proxy.Stats.ServerToClientBytes);
    }

    [Fact]
    public async Task Concurrent_connections_share_one_bandwidth_cap()
    {
        const int PerConnection = 512 * 1024;
        using var sink = Listen();
        long received = 0;
        var all = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            for (int i = 0; i < 2; i++)
            {
                Socket s = await sink.AcceptAsync();
                _ = Task.Run(async () =>
                {
                    var buf = new byte[65536];
                    int n;
                    while ((n = await s.ReceiveAsync(buf)) > 0)
                    {
                        if (Interlocked.Add(ref received, n) == 2 * PerConnection)
                        {
                            all.TrySetResult();
                        }
                    }
                    s.Dispose();
                });
            }
        });
        var link = new LinkSettings(TimeSpan.Zero, 16e6); // 2 MB/s
        await using var proxy = new WanProxyServer(Loopback, sink.LocalEndPoint!, link);
        proxy.Start();

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await c.ConnectAsync(proxy.LocalEndPoint);
            await c.SendAsync(new byte[PerConnection]);
            c.Shutdown(SocketShutdown.Send);
            await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }));

        double expected = (2.0 * PerConnection - link.BurstBytes) / (link.BitsPerSecond / 8);
        Assert.True(clock.Elapsed.TotalSeconds >= expected, $"1 MiB took {clock.Elapsed.TotalSeconds:F3} s, the link needs {expected:F3} s");
        Assert.Equal(2 * PerConnection, proxy.Stats.ClientToServerBytes);
        Assert.Equal(2, proxy.Stats.Connections);
    }

    [Theory]
    [InlineData("50ms", 0.05)]
    [InlineData("0.15s", 0.15)]
    [InlineData("150", 0.15)]
    public void Durations_parse(string text, double seconds) =>
        Assert.Equal(seconds, Units.ParseDuration(text).TotalSeconds, 6);

    [Theory]
    [InlineData("100mbit", 100e6)]
    [InlineData("1gbit", 1e9)]
    [InlineData("unlimited", 0)]
    public void Bandwidths_parse(string text, double bits) => Assert.Equal(bits, Units.ParseBitsPerSecond(text));

    private static Socket Listen()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(Loopback);
        s.Listen();
        return s;
    }

    private static async Task<TimeSpan> RoundTripAsync(Socket s)
    {
        var clock = Stopwatch.StartNew();
        await s.SendAsync(new byte[] { 42 });
        var buf = new byte[1];
        Assert.Equal(1, await s.ReceiveAsync(buf));
        return clock.Elapsed;
    }
}
