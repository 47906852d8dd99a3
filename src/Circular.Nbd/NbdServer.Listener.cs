using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Circular.Nbd;

/// <summary>Listening on TCP or a Unix socket and accepting clients concurrently.</summary>
public sealed partial class NbdServer
{
    private readonly TaskCompletionSource<EndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _serving;
    private int _nextClient;

    /// <summary>
    /// Completes with the bound address once <see cref="ServeAsync"/> is listening: for port 0 it carries the
    /// port the system chose. Faults if binding fails.
    /// </summary>
    public Task<EndPoint> Listening => _listening.Task;

    /// <summary>
    /// Listens on <paramref name="endpoint"/> (an <see cref="IPEndPoint"/>, or a <see cref="UnixDomainSocketEndPoint"/>
    /// whose stale socket file is replaced and removed again on exit) and serves clients until
    /// <paramref name="ct"/> is cancelled; then stops accepting, cancels open connections, waits for them to
    /// close and returns. May be called once per server.
    /// </summary>
    public async Task ServeAsync(EndPoint endpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (Interlocked.Exchange(ref _serving, 1) != 0)
            throw new InvalidOperationException("this server is already serving");

        Socket listener;
        string? socketPath = null;
        try
        {
            (listener, socketPath) = Bind(endpoint);
        }
        catch (Exception ex)
        {
            _listening.TrySetException(ex);
            throw;
        }

        var connections = new ConcurrentDictionary<int, Task>();
        try
        {
            EndPoint bound = listener.LocalEndPoint ?? endpoint;
            _options.Log.Listening(Display(bound, socketPath));
            _listening.TrySetResult(bound);
            await AcceptLoopAsync(listener, socketPath is not null, connections, ct).ConfigureAwait(false);
        }
        finally
        {
            listener.Dispose();
            if (socketPath is not null)
                TryDelete(socketPath);
            await Task.WhenAll(connections.Values).ConfigureAwait(false);
        }
    }

    private async Task AcceptLoopAsync(Socket listener, bool unix, ConcurrentDictionary<int, Task> connections, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // E.g. out of file descriptors: keep the server up and try again shortly.
                _options.Log.AcceptFailed(ex.Message);
                try
                {
                    await Task.Delay(100, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }

            int id = Interlocked.Increment(ref _nextClient);
            string peer = unix ? $"unix#{id}" : client.RemoteEndPoint?.ToString() ?? $"client#{id}";
            if (!unix)
                client.NoDelay = true; // Replies are whole frames already; don't let Nagle hold them back.
            // Run off the accept loop so a slow handshake never delays the next accept.
            Task connection = Task.Run(() => HandleConnectionAsync(new NetworkStream(client, ownsSocket: true), peer, ct), CancellationToken.None);
            connections[id] = connection;
            _ = connection.ContinueWith(
                (_, state) => ((ConcurrentDictionary<int, Task>)state!).TryRemove(id, out Task? _),
                connections, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static (Socket Listener, string? SocketPath) Bind(EndPoint endpoint)
    {
        Socket socket;
        string? path = null;
        switch (endpoint)
        {
            case IPEndPoint ip:
                socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                AllowRebindDuringTimeWait(socket);
                if (ip.Address.Equals(IPAddress.IPv6Any))
                    socket.DualMode = true;
                break;
            case UnixDomainSocketEndPoint unix:
                path = unix.ToString();
                RemoveStaleSocket(path);
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                break;
            default:
                throw new ArgumentException($"cannot listen on a {endpoint.GetType().Name}", nameof(endpoint));
        }

        try
        {
            socket.Bind(endpoint);
            socket.Listen(512);
            return (socket, path);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Lets a restarted server bind while connections it closed sit in TIME_WAIT. Set as the raw SO_REUSEADDR:
    /// .NET's ReuseAddress option also sets SO_REUSEPORT on Linux, which would let a second server bind the
    /// same port and silently take half the connections.
    /// </summary>
    private static void AllowRebindDuringTimeWait(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            const int SolSocket = 1, SoReuseAddr = 2;
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        }
    }

    /// <summary>
    /// A socket file left by a server that died blocks bind(). Remove it, but only if nothing answers on it
    /// (another server is live) and it is not a non-empty regular file (someone's data).
    /// </summary>
    private static void RemoveStaleSocket(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            return;
        if (info.Length > 0)
            throw new IOException($"{path} exists and is not a socket");
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"{path} is in use by another server");
            }
            catch (SocketException)
            {
                // Nobody listening: stale.
            }
        }
        File.Delete(path);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stale file is replaced on the next start anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Display(EndPoint endpoint, string? socketPath) =>
        socketPath is not null ? $"unix:{socketPath}" : endpoint.ToString() ?? "?";
}
