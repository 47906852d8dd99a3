using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Circular.Testing;

/// <summary>
/// A TCP proxy to one loopback port that a test can stall (no byte moves either way until resumed: a network outage
/// with connections left open), slow down (a delay per read: a more distant mirror), and ask which HTTP requests
/// passed through it.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<string> _requests = [];
    private volatile TaskCompletionSource? _stalled;

    public TcpProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    /// <summary>Added before each read is passed on.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>TCP connections accepted so far (HTTP/2 multiplexes a client's requests over one).</summary>
    public int Connections => Volatile.Read(ref _connections);
    private int _connections;

    /// <summary>Request lines ("GET /path HTTP/1.1") seen so far.</summary>
    public IReadOnlyList<string> Requests { get { lock (_requests) return _requests.ToList(); } }

    /// <summary>
    /// Called with each request line ("PUT /path HTTP/1.1") about to pass; true stalls the proxy before it passes, so a
    /// test holds a client mid-way at an exact point rather than racing it.
    /// </summary>
    public Func<string, bool>? StallWhen { get; init; }

    public bool IsStalled => _stalled is not null;

    // Two pumps can stall at once: only one gate may be set, or a pump would wait on one Resume never opens.
    public void Stall() => Interlocked.CompareExchange(ref _stalled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    public void Resume()
    {
        var s = _stalled;
        _stalled = null;
        s?.TrySetResult();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                if (_stalled is { } s) await s.Task.WaitAsync(_stop.Token);
                await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                await Task.WhenAny(PumpAsync(client.GetStream(), server.GetStream(), requests: true), PumpAsync(server.GetStream(), client.GetStream(), requests: false));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool requests)
    {
        var buf = new byte[64 << 10];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buf, _stop.Token)) > 0)
            {
                var lines = requests ? RequestLines(buf.AsSpan(0, n)) : null;
                if (lines is not null && StallWhen is { } when && lines.Any(when)) Stall();
                if (_stalled is { } s) await s.Task.WaitAsync(_stop.Token);
                if (Delay > TimeSpan.Zero) await Task.Delay(Delay, _stop.Token);
                if (lines is not null) Note(lines);
                await to.WriteAsync(buf.AsMemory(0, n), _stop.Token);
            }
            to.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    private void Note(List<string> lines)
    {
        foreach (string line in lines)
            if (line.StartsWith("GET ", StringComparison.Ordinal) || line.StartsWith("HEAD ", StringComparison.Ordinal))
                lock (_requests) _requests.Add(line);
    }

    /// <summary>HTTP/1.1 request lines in what a client sent (a read can hold several, or only a body).</summary>
    private static List<string> RequestLines(ReadOnlySpan<byte> data) =>
        Encoding.ASCII.GetString(data).Split("\r\n").Where(l => l.EndsWith(" HTTP/1.1", StringComparison.Ordinal) || l.EndsWith(" HTTP/1.0", StringComparison.Ordinal)).ToList();

    public async ValueTask DisposeAsync()
    {
        Resume();
        _stop.Cancel();
        _listener.Stop();
        await _accepting.ContinueWith(_ => { });
        _stop.Dispose();
    }
}
