using System.Buffers.Binary;
using Circular.Nbd.Tests.Support;
using static Circular.Nbd.Tests.Support.RawNbdClient;

namespace Circular.Nbd.Tests;

public sealed class HandshakeTests
{
    [Fact]
    public async Task Greeting_offers_fixed_newstyle_and_no_zeroes()
    {
        await using var connection = new InMemoryConnection();
        Assert.Equal(3, await connection.Client.ReadGreetingAsync());
    }

    [Fact]
    public async Task ClientFlags_unknown_bit_drops_connection()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.StartAsync(clientFlags: 0x4 | 0x1);
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
        Assert.Contains("unknown client flags", connection.LogText);
    }

    [Fact]
    public async Task ExportName_known_sends_size_and_flags_without_padding_under_no_zeroes()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync(clientFlags: 3);
        await client.SendOptionAsync(OptExportName, "os@1"u8.ToArray());
        byte[] reply = await client.ReadExactAsync(10);
        Assert.Equal(4L * 1024 * 1024, BinaryPrimitives.ReadInt64BigEndian(reply));
        // Transmission starts straight away: a read must work.
        byte[] data = await client.ReadSimpleAsync(1, 0, 512);
        Assert.Equal(connection.Catalog.DataOf("os@1").AsSpan(0, 512).ToArray(), data);
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task ExportName_without_no_zeroes_pads_with_124_zeroes()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync(clientFlags: 1);
        await client.SendOptionAsync(OptExportName, "os"u8.ToArray());
        byte[] reply = await client.ReadExactAsync(134);
        Assert.Equal(8L * 1024 * 1024, BinaryPrimitives.ReadInt64BigEndian(reply));
        Assert.All(reply[10..], b => Assert.Equal(0, b));
        Assert.Equal(connection.Catalog.DataOf("os").AsSpan(4096, 100).ToArray(), await client.ReadSimpleAsync(7, 4096, 100));
    }

    [Fact]
    public async Task ExportName_unknown_disconnects()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.StartAsync();
        await connection.Client.SendOptionAsync(OptExportName, "nope"u8.ToArray());
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
    }

    [Fact]
    public async Task Abort_acks_then_closes()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.StartAsync();
        await connection.Client.SendOptionAsync(OptAbort, []);
        OptionReply reply = await connection.Client.ReadOptionReplyAsync();
        Assert.Equal((OptAbort, RepAck), (reply.Option, reply.Type));
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
    }

    [Fact]
    public async Task List_names_every_export_then_acks()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptList, []);
        var names = new List<string>();
        while (true)
        {
            OptionReply reply = await client.ReadOptionReplyAsync();
            if (reply.Type == RepAck)
                break;
            Assert.Equal(RepServer, reply.Type);
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(reply.Data);
            names.Add(System.Text.Encoding.UTF8.GetString(reply.Data, 4, length));
        }
        Assert.Equal(["os", "os@1", "os@2"], names);
        await client.SendOptionAsync(OptAbort, []);
    }

    [Fact]
    public async Task Info_reports_export_name_description_and_block_size_and_negotiation_continues()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { MaxPayload = 1 << 20 });
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptInfo, InfoRequest("os@1", 1, 2, 3));
        var (infos, last) = await client.ReadInfoRepliesAsync();
        Assert.Equal(RepAck, last.Type);
        var byType = infos.ToDictionary(i => BinaryPrimitives.ReadUInt16BigEndian(i.Data));
        Assert.Equal(4L * 1024 * 1024, BinaryPrimitives.ReadInt64BigEndian(byType[0].Data.AsSpan(2)));
        Assert.Equal("os@1", System.Text.Encoding.UTF8.GetString(byType[1].Data, 2, byType[1].Data.Length - 2));
        Assert.Equal("os, version 1", System.Text.Encoding.UTF8.GetString(byType[2].Data, 2, byType[2].Data.Length - 2));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(byType[3].Data.AsSpan(2)));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(byType[3].Data.AsSpan(6)));
        Assert.Equal(1u << 20, BinaryPrimitives.ReadUInt32BigEndian(byType[3].Data.AsSpan(10)));
        // INFO does not start transmission, and it releases the image it opened to answer.
        await client.SendOptionAsync(OptGo, InfoRequest("os"));
        Assert.Equal(RepAck, (await client.ReadInfoRepliesAsync()).Last.Type);
        Assert.True(connection.Catalog.Opened.First().Disposed);
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task Go_unknown_export_replies_err_unknown_and_a_good_export_still_works()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptGo, InfoRequest("nope"));
        OptionReply error = await client.ReadOptionReplyAsync();
        Assert.Equal(ErrUnknown, error.Type);
        Assert.Contains("nope", error.Text);
        await client.SendOptionAsync(OptGo, InfoRequest("os@2"));
        Assert.Equal(RepAck, (await client.ReadInfoRepliesAsync()).Last.Type);
        Assert.Equal(connection.Catalog.DataOf("os@2").AsSpan(0, 64).ToArray(), await client.ReadSimpleAsync(1, 0, 64));
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task Go_empty_name_serves_first_catalog_entry()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptGo, InfoRequest("", 1));
        var (infos, last) = await client.ReadInfoRepliesAsync();
        Assert.Equal(RepAck, last.Type);
        OptionReply name = infos.Single(i => BinaryPrimitives.ReadUInt16BigEndian(i.Data) == 1);
        Assert.Equal("os", System.Text.Encoding.UTF8.GetString(name.Data, 2, name.Data.Length - 2));
    }

    [Fact]
    public async Task Go_empty_name_serves_configured_default_export()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { DefaultExport = "os@1" });
        var (size, _) = await connection.Client.NegotiateAsync("", structured: false);
        Assert.Equal(4L * 1024 * 1024, size);
    }

    [Fact]
    public async Task Go_malformed_request_is_invalid_and_negotiation_continues()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        byte[] bad = InfoRequest("os");
        BinaryPrimitives.WriteUInt32BigEndian(bad, 1000); // name length beyond the data
        await client.SendOptionAsync(OptGo, bad);
        Assert.Equal(ErrInvalid, (await client.ReadOptionReplyAsync()).Type);
        await client.SendOptionAsync(OptGo, InfoRequest("os"));
        Assert.Equal(RepAck, (await client.ReadInfoRepliesAsync()).Last.Type);
    }

    [Fact]
    public async Task TransmissionFlags_read_only_export_allows_multi_conn_and_df_with_structured_replies()
    {
        await using var connection = new InMemoryConnection();
        var (_, flags) = await connection.Client.NegotiateAsync("os");
        const ushort HasFlags = 1, ReadOnly = 2, SendFlush = 4, SendWriteZeroes = 64, SendDf = 128, MultiConn = 256, SendCache = 1024;
        Assert.Equal(HasFlags | ReadOnly | SendFlush | SendDf | MultiConn | SendCache, flags);
        Assert.Equal(0, flags & SendWriteZeroes);
    }

    [Fact]
    public async Task TransmissionFlags_writable_export_offers_writes_and_no_multi_conn()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { Writable = true });
        var (_, flags) = await connection.Client.NegotiateAsync("os", structured: false);
        const ushort HasFlags = 1, ReadOnly = 2, SendFlush = 4, Fua = 8, Trim = 32, WriteZeroes = 64, SendDf = 128, MultiConn = 256, Cache = 1024;
        Assert.Equal(HasFlags | SendFlush | Fua | Trim | WriteZeroes | Cache, flags);
        Assert.Equal(0, flags & (ReadOnly | MultiConn | SendDf));
        Assert.True(connection.Catalog.Opened.Single().IsWritable);
    }

    [Fact]
    public async Task MetaContext_before_structured_replies_is_invalid()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptSetMetaContext, MetaContextRequest("os", "base:allocation"));
        Assert.Equal(ErrInvalid, (await client.ReadOptionReplyAsync()).Type);
    }

    [Theory]
    [InlineData("")]
    [InlineData("base:")]
    [InlineData("qemu:dirty-bitmap:x,base:allocation")]
    public async Task ListMetaContext_offers_base_allocation(string commaSeparatedQueries)
    {
        string[] queries = commaSeparatedQueries.Split(',', StringSplitOptions.RemoveEmptyEntries);
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptStructuredReply, []);
        Assert.Equal(RepAck, (await client.ReadOptionReplyAsync()).Type);
        await client.SendOptionAsync(OptListMetaContext, MetaContextRequest("os", queries));
        OptionReply context = await client.ReadOptionReplyAsync();
        Assert.Equal(RepMetaContext, context.Type);
        Assert.Equal("base:allocation", System.Text.Encoding.UTF8.GetString(context.Data, 4, context.Data.Length - 4));
        Assert.Equal(RepAck, (await client.ReadOptionReplyAsync()).Type);
    }

    [Fact]
    public async Task SetMetaContext_unknown_context_selects_nothing()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptStructuredReply, []);
        Assert.Equal(RepAck, (await client.ReadOptionReplyAsync()).Type);
        await client.SendOptionAsync(OptSetMetaContext, MetaContextRequest("os", "qemu:dirty-bitmap:x"));
        Assert.Equal(RepAck, (await client.ReadOptionReplyAsync()).Type);
        await client.SendOptionAsync(OptGo, InfoRequest("os"));
        Assert.Equal(RepAck, (await client.ReadInfoRepliesAsync()).Last.Type);
        // With no context selected, BLOCK_STATUS is not allowed.
        await client.SendRequestAsync(CmdBlockStatus, 9, 0, 4096);
        AnyReply reply = await client.ReadAnyReplyAsync();
        Assert.Equal(EINVAL, reply.Error);
    }

    [Fact]
    public async Task StartTls_is_refused_and_negotiation_continues()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(OptStartTls, []);
        uint type = (await client.ReadOptionReplyAsync()).Type;
        Assert.True(type is ErrUnsup or ErrPolicy);
        await client.SendOptionAsync(OptGo, InfoRequest("os"));
        Assert.Equal(RepAck, (await client.ReadInfoRepliesAsync()).Last.Type);
    }

    [Fact]
    public async Task UnknownOption_with_data_is_unsupported_and_its_data_skipped()
    {
        await using var connection = new InMemoryConnection();
        RawNbdClient client = connection.Client;
        await client.StartAsync();
        await client.SendOptionAsync(11, new byte[300]); // EXTENDED_HEADERS, with junk data
        OptionReply reply = await client.ReadOptionReplyAsync();
        Assert.Equal((11u, ErrUnsup), (reply.Option, reply.Type));
        await client.SendOptionAsync(OptGo, InfoRequest("os"));
        Assert.Equal(RepAck, (await client.ReadInfoRepliesAsync()).Last.Type);
    }
}
