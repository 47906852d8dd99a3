using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Circular.Testing;

/// <summary>What <see cref="FaultyHttpServer"/> does to the requests it targets.</summary>
public enum HttpFault
{
    /// <summary>An honest server (every file as it is, ranges honoured), slowed by <see cref="FaultyHttpServer.Delay"/>.</summary>
    None,
    /// <summary>Half the body, then a TCP reset.</summary>
    Reset,
    /// <summary>Half the body, then a clean close: the declared length never arrives.</summary>
    Truncated,
    /// <summary>Declares half the length but sends the whole body on a kept-alive connection (the rest poisons the next answer).</summary>
    ShortLength,
    /// <summary>Declares 4 KiB more than it sends, then closes.</summary>
    LongLength,
    /// <summary>The headers, then no byte until the client hangs up.</summary>
    Stall,
    /// <summary>The headers, then one byte every 100 ms.</summary>
    SlowLoris,
    /// <summary>The declared length of bytes, one of them flipped.</summary>
    Garbage,
    /// <summary>200 and the whole file to a range request.</summary>
    IgnoreRange,
    /// <summary>Declares a 1.9 GB Content-Length and sends zeros until the client hangs up.</summary>
    HugeLength,
    /// <summary>A chunked body that never ends.</summary>
    EndlessChunked,
}

/// <summary>
/// An HTTP/1.1 server of a directory (keep-alive, GET/HEAD, single byte ranges) that answers the requests
/// <see cref="Targets"/> selects (GETs only: the HEADs that size a plain image are answered honestly) with a <see cref="HttpFault"/>: what a broken network, proxy or mirror can do to a
/// client. Each targeted path gets the fault <see cref="FaultsPerPath"/> times, then honest answers.
/// </summary>
public sealed class FaultyHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _root;
    private readonly HttpFault _fault;
    private readonly Task _accepting;
    private readonly ConcurrentDictionary<string, int> _faulted = new();
    private long _hostileBytes;
    private int _faults;

    public FaultyHttpServer(string root, HttpFault fault)
    {
        _root = Path.GetFullPath(root);
        _fault = fault;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Added before every answer: makes an honest mirror rank behind a fast faulty one.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>Which request paths get the fault (default: chunk files).</summary>
    public Func<string, bool> Targets { get; init; } = p => p.StartsWith("/chunks/", StringComparison.Ordinal);
    /// <summary>How many times each targeted path is answered with the fault before it is answered honestly.</summary>
    public int FaultsPerPath { get; init; } = int.MaxValue;

    /// <summary>Set to make every later answer honest: the network has recovered.</summary>
    public bool Healed { get; set; }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
    /// <summary>Bytes of endless or oversized bodies the clients took before hanging up.</summary>
    public long HostileBytesSent => Interlocked.Read(ref _hostileBytes);
    /// <summary>Faulty answers given so far.</summary>
    public int FaultsServed => Volatile.Read(ref _faults);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private readonly record struct Request(string Method, string Path, long? From, long? To);

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                while (await ReadRequestAsync(stream) is { } request)
                {
                    if (Delay > TimeSpan.Zero) await Task.Delay(Delay, _stop.Token);
                    bool faulty = _fault != HttpFault.None && !Healed && request.Method == "GET" && Targets(request.Path) &&
                        _faulted.AddOrUpdate(request.Path, 1, (_, n) => n + 1) <= FaultsPerPath;
                    if (!faulty)
                    {
                        await SendHonestAsync(stream, request, ignoreRange: false);
                        continue;
                    }
                    Interlocked.Increment(ref _faults);
                    if (!await SendFaultAsync(client, stream, request)) return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    private static async Task<Request?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0 || head.Length > 16384) return null;
            head.Append((char)one[0]);
        }
        string[] lines = head.ToString().Split("\r\n");
        string[] first = lines[0].Split(' ', 3);
        if (first.Length < 2) return null;
        long? from = null, to = null;
        foreach (string line in lines.Skip(1))
        {
            if (!line.StartsWith("Range: bytes=", StringComparison.OrdinalIgnoreCase)) continue;
            string[] r = line["Range: bytes=".Length..].Split('-');
            from = long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture);
            if (r[1].Length > 0) to = long.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        return new Request(first[0], Uri.UnescapeDataString(first[1].Split('?')[0]), from, to);
    }

    /// <summary>The answer an honest server gives: status line, headers and the body (or null for 404).</summary>
    private (string Head, byte[] Body)? Answer(Request request, bool ignoreRange)
    {
        string full = Path.GetFullPath(Path.Combine(_root, request.Path.TrimStart('/')));
        if (!full.StartsWith(_root, StringComparison.Ordinal) || !File.Exists(full)) return null;
        byte[] body = File.ReadAllBytes(full);
        if (request.From is not { } from || ignoreRange)
            return ($"HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: {{0}}\r\n\r\n", body);
        long to = Math.Min(request.To ?? body.Length - 1, body.Length - 1);
        byte[] part = body[(int)from..(int)(to + 1)];
        return ($"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{to}/{body.Length}\r\nContent-Length: {{0}}\r\n\r\n", part);
    }

    private async Task SendHonestAsync(NetworkStream stream, Request request, bool ignoreRange)
    {
        if (Answer(request, ignoreRange) is not var (head, body))
        {
            await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), _stop.Token);
            return;
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, head, body.Length)), _stop.Token);
        if (request.Method != "HEAD") await stream.WriteAsync(body, _stop.Token);
    }

    /// <summary>Sends the fault's answer; false when the connection is finished with.</summary>
    private async Task<bool> SendFaultAsync(TcpClient client, NetworkStream stream, Request request)
    {
        if (_fault == HttpFault.IgnoreRange)
        {
            await SendHonestAsync(stream, request, ignoreRange: true);
            return true;
        }
        if (_fault is HttpFault.HugeLength or HttpFault.EndlessChunked)
        {
            await SendEndlessAsync(stream);
            return false;
        }
        if (Answer(request, ignoreRange: false) is not var (head, body))
        {
            await SendHonestAsync(stream, request, ignoreRange: false);
            return true;
        }
        string Head(long length) => string.Format(System.Globalization.CultureInfo.InvariantCulture, head, length);
        switch (_fault)
        {
            case HttpFault.Reset:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length)), _stop.Token);
                await stream.WriteAsync(body.AsMemory(0, body.Length / 2), _stop.Token);
                client.Client.LingerState = new LingerOption(true, 0); // close sends RST
                client.Client.Close();
                return false;
            case HttpFault.Truncated:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length)), _stop.Token);
                await stream.WriteAsync(body.AsMemory(0, body.Length / 2), _stop.Token);
                client.Client.Shutdown(SocketShutdown.Send);
                return false;
            case HttpFault.ShortLength:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length / 2)), _stop.Token);
                await stream.WriteAsync(body, _stop.Token);
                return true;
            case HttpFault.LongLength:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length + 4096)), _stop.Token);
                await stream.WriteAsync(body, _stop.Token);
                client.Client.Shutdown(SocketShutdown.Send);
                return false;
            case HttpFault.Stall:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length)), _stop.Token);
                while (await stream.ReadAsync(new byte[256], _stop.Token) > 0) { } // until the client hangs up
                return false;
            case HttpFault.SlowLoris:
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length)), _stop.Token);
                foreach (byte b in body)
                {
                    await stream.WriteAsync(new[] { b }, _stop.Token);
                    await Task.Delay(100, _stop.Token);
                }
                return true;
            case HttpFault.Garbage:
                body[body.Length / 2] ^= 0x5A;
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(body.Length)), _stop.Token);
                await stream.WriteAsync(body, _stop.Token);
                return true;
            default:
                throw new InvalidOperationException($"fault {_fault} is not sent here");
        }
    }

    private async Task SendEndlessAsync(NetworkStream stream)
    {
        byte[] zeros = new byte[64 << 10];
        if (_fault == HttpFault.HugeLength)
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1900000000\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
            for (long sent = 0; sent < 1_900_000_000; sent += zeros.Length)
            {
                await stream.WriteAsync(zeros, _stop.Token);
                Interlocked.Add(ref _hostileBytes, zeros.Length);
            }
            return;
        }
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
        byte[] frame = [.. Encoding.ASCII.GetBytes($"{zeros.Length:x}\r\n"), .. zeros, .. "\r\n"u8.ToArray()];
        while (true)
        {
            await stream.WriteAsync(frame, _stop.Token);
            Interlocked.Add(ref _hostileBytes, zeros.Length);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting.ContinueWith(_ => { });
        _stop.Dispose();
    }
}
