using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Circular.Bench.WanProxy;

/// <summary>Settings of the emulated link.</summary>
/// <param name="Rtt">Round-trip time: each direction delays data by half of it, and a new connection waits one whole
/// RTT (its TCP handshake) before anything it sent is forwarded.</param>
/// <param name="BitsPerSecond">Bandwidth of each direction, shared by all connections; 0 means unlimited.</param>
public sealed record LinkSettings(TimeSpan Rtt, double BitsPerSecond)
{
    /// <summary>Bucket depth: 10 ms of traffic at the link rate, at least 16 KiB.</summary>
    public int BurstBytes => (int)Math.Max(16 * 1024, BitsPerSecond / 8 / 100);
}

/// <summary>Byte and connection counters, safe to read while the proxy runs.</summary>
public sealed class LinkStats
{
    private long connections;
    private long active;
    private long clientToServer;
    private long serverToClient;

    public long Connections => Interlocked.Read(ref connections);
    public long Active => Interlocked.Read(ref active);
    public long ClientToServerBytes => Interlocked.Read(ref clientToServer);
    public long ServerToClientBytes => Interlocked.Read(ref serverToClient);

    internal void Opened()
    {
        Interlocked.Increment(ref connections);
        Interlocked.Increment(ref active);
    }

    internal void Closed() => Interlocked.Decrement(ref active);

    internal void Add(bool toServer, int bytes)
    {
        if (toServer)
        {
            Interlocked.Add(ref clientToServer, bytes);
        }
        else
        {
            Interlocked.Add(ref serverToClient, bytes);
        }
    }

    public string ToJson() =>
        $"{{\"connections\":{Connections},\"active\":{Active},\"clientToServerBytes\":{ClientToServerBytes},"
        + $"\"serverToClientBytes\":{ServerToClientBytes}}}";
}

/// <summary>
/// A user-space WAN: accepts TCP connections, connects each to the target and forwards both directions with the
/// link's one-way delay and bandwidth cap. Delay and bandwidth are independent: data read at t leaves the shared
/// token bucket at t' &gt;= t and is delivered at t' + RTT/2, so many segments are in flight at once like on a
/// real long link.
/// </summary>
public sealed class WanProxyServer : IAsyncDisposable
{
    private const int SegmentBytes = 64 * 1024;
    private readonly Socket listener;
    private readonly EndPoint target;
    private readonly LinkSettings link;
    private readonly TokenBucket up;
    private readonly TokenBucket down;
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> connections = [];
    private Task? acceptLoop;

    public WanProxyServer(IPEndPoint listen, EndPoint target, LinkSettings link)
    {
        this.target = target;
        this.link = link;
        up = new TokenBucket(link.BitsPerSecond, link.BurstBytes);
        down = new TokenBucket(link.BitsPerSecond, link.BurstBytes);
        listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(listen);
        listener.Listen(512);
    }

    public LinkStats Stats { get; } = new();

    /// <summary>Where to report connections that ended with an error (they are normal on a WAN: peers reset).</summary>
    public Action<string>? Log { get; init; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)listener.LocalEndPoint!;

    public void Start() => acceptLoop = AcceptLoopAsync(stop.Token);

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct);
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            Task t = HandleAsync(client, ct);
            lock (connections)
            {
                connections.RemoveAll(c => c.IsCompleted);
                connections.Add(t);
            }
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken ct)
    {
        long accepted = Stopwatch.GetTimestamp();
        Stats.Opened();
        using var server = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            client.NoDelay = true;
            server.NoDelay = true;
            await server.ConnectAsync(target, ct);
            // The handshake a real WAN would cost: nothing the client sent goes anywhere before one RTT.
            await DelayUntilAsync(accepted + ToTicks(link.Rtt), ct);
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task toServer = PumpAsync(client, server, up, true, failed);
            Task toClient = PumpAsync(server, client, down, false, failed);
            await Task.WhenAll(toServer, toClient);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // A reset or a refused target: the connection simply ends.
            Log?.Invoke($"connection from {client.RemoteEndPoint}: {e.GetType().Name}: {e.Message}");
        }
        catch (Exception)
        {
            // The proxy is stopping.
        }
        finally
        {
            client.Dispose();
            Stats.Closed();
        }
    }

    private readonly record struct Segment(byte[]? Buffer, int Length, long DeliverAt);

    private async Task PumpAsync(Socket from, Socket to, TokenBucket bucket, bool toServer, CancellationTokenSource failed)
    {
        CancellationToken ct = failed.Token;
        var queue = Channel.CreateBounded<Segment>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        long oneWay = ToTicks(link.Rtt / 2);
        Task writer = WriteAsync(queue.Reader, from, to, failed);
        try
        {
            while (true)
            {
                byte[] buffer = ArrayPool<byte>.Shared.Rent(SegmentBytes);
                int n = await from.ReceiveAsync(buffer.AsMemory(0, SegmentBytes), SocketFlags.None, ct);
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    await queue.Writer.WriteAsync(new Segment(null, 0, Stopwatch.GetTimestamp() + oneWay), ct);
                    break;
                }
                Stats.Add(toServer, n);
                TimeSpan wait = bucket.Take(n);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }
                await queue.Writer.WriteAsync(new Segment(buffer, n, Stopwatch.GetTimestamp() + oneWay), ct);
            }
            queue.Writer.Complete();
            await writer;
        }
        catch (Exception)
        {
            queue.Writer.TryComplete();
            await failed.CancelAsync();
            from.Dispose();
            to.Dispose();
            try
            {
                await writer;
            }
            catch (Exception)
            {
                // Already failing.
            }
            throw;
        }
    }

    private static async Task WriteAsync(ChannelReader<Segment> queue, Socket from, Socket to, CancellationTokenSource failed)
    {
        try
        {
            await WriteAllAsync(queue, to, failed.Token);
        }
        catch (Exception)
        {
            // The receiving side is gone: stop reading the sending side too.
            await failed.CancelAsync();
            from.Dispose();
            to.Dispose();
            throw;
        }
    }

    private static async Task WriteAllAsync(ChannelReader<Segment> queue, Socket to, CancellationToken ct)
    {
        await foreach (Segment s in queue.ReadAllAsync(ct))
        {
            await DelayUntilAsync(s.DeliverAt, ct);
            if (s.Buffer is null)
            {
                to.Shutdown(SocketShutdown.Send);
                continue;
            }
            try
            {
                int sent = 0;
                while (sent < s.Length)
                {
                    sent += await to.SendAsync(s.Buffer.AsMemory(sent, s.Length - sent), SocketFlags.None, ct);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(s.Buffer);
            }
        }
    }

    private static long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    private static async Task DelayUntilAsync(long timestamp, CancellationToken ct)
    {
        long remaining = timestamp - Stopwatch.GetTimestamp();
        if (remaining > 0)
        {
            // Task.Delay rounds down to whole milliseconds; round up so data is never early.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency)), ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop;
        }
        Task[] open;
        lock (connections)
        {
            open = [.. connections];
        }
        await Task.WhenAll(open);
        stop.Dispose();
    }
}
