using System.Buffers.Binary;
using Circular.Nbd.Tests.Support;
using static Circular.Nbd.Tests.Support.RawNbdClient;

namespace Circular.Nbd.Tests;

/// <summary>Clients that lie, stop halfway or send garbage: each loses its connection, nothing else.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public async Task Option_with_wrong_magic_drops_connection()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.StartAsync();
        byte[] frame = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(frame, 0x1122334455667788);
        await connection.Client.WriteAsync(frame);
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
        Assert.Contains("bad option magic", connection.LogText);
    }

    [Fact]
    public async Task Option_with_huge_length_drops_connection_without_waiting_for_the_data()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.StartAsync();
        // Declares 4 GiB - 1 and sends nothing: the server must hang up rather than wait or allocate.
        await connection.Client.SendOptionAsync(OptGo, uint.MaxValue, []);
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
    }

    [Fact]
    public async Task Request_with_wrong_magic_drops_connection()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdRead, 1, 0, 512, magic: 0xdeadbeef);
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
        Assert.Contains("bad request magic", connection.LogText);
        Assert.True(connection.Catalog.Opened.Single().Disposed);
    }

    [Fact]
    public async Task Read_longer_than_max_payload_is_invalid_and_connection_continues()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { MaxPayload = 64 * 1024 });
        RawNbdClient client = connection.Client;
        await client.NegotiateAsync("os", structured: false);
        await client.SendRequestAsync(CmdRead, 1, 0, uint.MaxValue);
        Assert.Equal((EINVAL, 1ul), await client.ReadSimpleReplyAsync());
        Assert.Equal(512, (await client.ReadSimpleAsync(2, 0, 512)).Length);
    }

    [Fact]
    public async Task Write_longer_than_max_payload_drops_connection()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { Writable = true, MaxPayload = 64 * 1024 });
        await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(CmdWrite, 1, 0, 1 << 20);
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
    }

    [Fact]
    public async Task Offset_near_two_to_the_64_is_out_of_range_not_an_overflow()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.NegotiateAsync("os", structured: false);
        await client.SendRequestAsync(CmdRead, 1, ulong.MaxValue - 10, 512);
        Assert.Equal((EINVAL, 1ul), await client.ReadSimpleReplyAsync());
    }

    [Fact]
    public async Task Disconnect_in_the_middle_of_a_request_header_ends_the_connection_cleanly()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os");
        await connection.Client.WriteAsync([0x25, 0x60, 0x95, 0x13, 0, 0, 0]);
        await connection.Client.DisposeAsync();
        await connection.AssertServerEndsAsync();
        Assert.True(connection.Catalog.Opened.Single().Disposed);
    }

    [Fact]
    public async Task Disconnect_in_the_middle_of_a_write_payload_ends_the_connection_cleanly()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { Writable = true });
        await connection.Client.NegotiateAsync("os");
        byte[] before = connection.Catalog.DataOf("os").AsSpan(0, 65536).ToArray();
        byte[] frame = new byte[28 + 1000];
        BinaryPrimitives.WriteUInt32BigEndian(frame, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(6), CmdWrite);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(24), 65536);
        await connection.Client.WriteAsync(frame);
        await connection.Client.DisposeAsync();
        await connection.AssertServerEndsAsync();
        // Half a write is never applied.
        Assert.Equal(before, connection.Catalog.DataOf("os").AsSpan(0, 65536).ToArray());
        Assert.True(connection.Catalog.Opened.Single().Disposed);
    }

    [Fact]
    public async Task Disconnect_during_handshake_ends_the_connection()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.ReadGreetingAsync();
        await connection.Client.WriteAsync([0, 0]);
        await connection.Client.DisposeAsync();
        await connection.AssertServerEndsAsync();
    }

    [Fact]
    public async Task Garbage_client_does_not_disturb_another_connection()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawNbdClient good = await server.ConnectAsync();
        await good.NegotiateAsync("os", structured: false);

        await using (RawNbdClient bad = await server.ConnectAsync())
        {
            await bad.ReadGreetingAsync();
            await bad.WriteAsync(System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
            Assert.True(await bad.IsClosedByServerAsync());
        }
        await using (RawNbdClient rude = await server.ConnectAsync())
        {
            await rude.NegotiateAsync("os@1");
            await rude.SendRequestAsync(CmdRead, 1, 0, 1 << 20);
            // Hang up without reading the reply.
        }

        byte[] data = await good.ReadSimpleAsync(5, 0, 4096);
        Assert.Equal(server.Catalog.DataOf("os").AsSpan(0, 4096).ToArray(), data);
        await good.DisconnectAsync();
        Assert.False(server.ServeTask.IsCompleted);
    }
}
