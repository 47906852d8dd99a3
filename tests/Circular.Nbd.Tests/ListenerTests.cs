using System.Net;
using System.Net.Sockets;
using Circular.Nbd.Tests.Support;

namespace Circular.Nbd.Tests;

public sealed class ListenerTests
{
    [Fact]
    public async Task ServeAsync_port_zero_reports_the_bound_port()
    {
        await using TestServer server = await TestServer.StartAsync();
        Assert.NotEqual(0, server.Port);
        Assert.Contains($"listening on 127.0.0.1:{server.Port}", server.LogText);
    }

    [Fact]
    public async Task ServeAsync_serves_many_clients_at_once()
    {
        await using TestServer server = await TestServer.StartAsync();
        byte[] expected = server.Catalog.DataOf("os@1");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            await using RawNbdClient client = await server.ConnectAsync();
            await client.NegotiateAsync("os@1", structured: false);
            for (int j = 0; j < 20; j++)
            {
                int offset = (i * 20 + j) * 8192;
                Assert.Equal(expected.AsSpan(offset, 8192).ToArray(), await client.ReadSimpleAsync((ulong)j, (ulong)offset, 8192));
            }
            await client.DisconnectAsync();
        }));
    }

    [Fact]
    public async Task ServeAsync_cancellation_closes_open_connections_and_returns()
    {
        TestServer server = await TestServer.StartAsync();
        await using RawNbdClient client = await server.ConnectAsync();
        await client.NegotiateAsync("os");
        await server.DisposeAsync();
        Assert.True(server.ServeTask.IsCompletedSuccessfully);
        Assert.True(await client.IsClosedByServerAsync());
        Assert.True(server.Catalog.Opened.Single().Disposed);
    }

    [Fact]
    public async Task ServeAsync_twice_is_refused()
    {
        await using TestServer server = await TestServer.StartAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.Server.ServeAsync(new IPEndPoint(IPAddress.Loopback, 0), CancellationToken.None));
    }

    [Fact]
    public async Task ServeAsync_bind_failure_faults_listening()
    {
        await using TestServer first = await TestServer.StartAsync();
        var second = new NbdServer(MemoryCatalog.CreateDefault());
        Task serve = second.ServeAsync(first.EndPoint, CancellationToken.None);
        await Assert.ThrowsAsync<SocketException>(() => second.Listening);
        await Assert.ThrowsAsync<SocketException>(() => serve);
    }

    [Fact]
    public async Task ServeAsync_unix_socket_replaces_a_stale_file_and_removes_it_on_exit()
    {
        string path = Path.Combine(Path.GetTempPath(), $"circular-nbd-{Guid.NewGuid():N}.sock");
        // Stands in for the socket file of a dead server (.NET unlinks its own on close): nothing answers on it.
        File.Create(path).Dispose();

        TestServer server = await TestServer.StartAsync(endpoint: new UnixDomainSocketEndPoint(path));
        await using (RawNbdClient client = await server.ConnectAsync())
        {
            await client.NegotiateAsync("os", structured: false);
            Assert.Equal(server.Catalog.DataOf("os").AsSpan(0, 1000).ToArray(), await client.ReadSimpleAsync(1, 0, 1000));
            await client.DisconnectAsync();
        }
        await server.DisposeAsync();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task ServeAsync_unix_socket_in_use_is_not_stolen()
    {
        string path = Path.Combine(Path.GetTempPath(), $"circular-nbd-{Guid.NewGuid():N}.sock");
        await using TestServer first = await TestServer.StartAsync(endpoint: new UnixDomainSocketEndPoint(path));
        var second = new NbdServer(MemoryCatalog.CreateDefault());
        await Assert.ThrowsAsync<IOException>(() => second.ServeAsync(new UnixDomainSocketEndPoint(path), CancellationToken.None));
        // The first server still answers.
        await using RawNbdClient client = await first.ConnectAsync();
        await client.NegotiateAsync("os");
    }

    [Fact]
    public async Task HandleConnectionAsync_returns_when_cancelled_mid_handshake()
    {
        var server = new NbdServer(MemoryCatalog.CreateDefault());
        var (serverSide, clientSide) = DuplexStream.CreatePair();
        using var cts = new CancellationTokenSource();
        Task connection = server.HandleConnectionAsync(serverSide, cts.Token);
        await new RawNbdClient(clientSide).ReadGreetingAsync();
        cts.Cancel();
        await connection.WaitAsync(RawNbdClient.Timeout);
        Assert.True(connection.IsCompletedSuccessfully);
    }
}
