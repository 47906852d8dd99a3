using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Circular.Cli.Tests.Support;

/// <summary>How <see cref="HostileMirror"/> answers requests for chunk files.</summary>
public enum Hostility
{
    /// <summary>An honest mirror (answers every file as it is), slowed by <see cref="HostileMirror.Delay"/>.</summary>
    None,
    /// <summary>Declares a 1.9 GB Content-Length and sends zeros until the client hangs up.</summary>
    HugeLength,
    /// <summary>A chunked body that never ends.</summary>
    EndlessChunked,
}

/// <summary>
/// An HTTP/1.1 mirror of an archive directory that answers metadata honestly and every chunk file with an oversized
/// or endless body: what a broken or malicious mirror or proxy can send a client.
/// </summary>
public sealed class HostileMirror : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _root;
    private readonly Hostility _mode;
    private readonly Task _accepting;
    private long _hostileBytes;

    public HostileMirror(string archiveRoot, Hostility mode)
    {
        _root = archiveRoot;
        _mode = mode;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Added before every answer: makes an honest mirror rank behind a fast hostile one.</summary>
    public TimeSpan Delay { get; init; }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
    /// <summary>Bytes of hostile bodies the clients took before hanging up.</summary>
    public long HostileBytesSent => Interlocked.Read(ref _hostileBytes);

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

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                string? request = await ReadRequestPathAsync(stream);
                if (request is null) return;
                bool head = request.StartsWith("HEAD ", StringComparison.Ordinal);
                string path = request[(request.IndexOf(' ') + 1)..];
                if (Delay > TimeSpan.Zero) await Task.Delay(Delay, _stop.Token);
                if (_mode != Hostility.None && path.StartsWith("/chunks/", StringComparison.Ordinal)) await SendHostileAsync(stream);
                else await SendFileAsync(stream, path, head);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
        }
    }

    private static async Task<string?> ReadRequestPathAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var buf = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(buf) == 0 || head.Length > 16384) return null;
            head.Append((char)buf[0]);
        }
        var parts = head.ToString().Split(' ', 3);
        return parts.Length >= 2 ? parts[0] + " " + Uri.UnescapeDataString(parts[1].Split('?')[0]) : null;
    }

    private async Task SendFileAsync(NetworkStream stream, string path, bool head)
    {
        string full = Path.GetFullPath(Path.Combine(_root, path.TrimStart('/')));
        if (!full.StartsWith(_root, StringComparison.Ordinal) || !File.Exists(full))
        {
            await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
            return;
        }
        byte[] body = await File.ReadAllBytesAsync(full);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), _stop.Token);
        if (!head) await stream.WriteAsync(body, _stop.Token);
    }

    private async Task SendHostileAsync(NetworkStream stream)
    {
        byte[] zeros = new byte[64 << 10];
        if (_mode == Hostility.HugeLength)
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
