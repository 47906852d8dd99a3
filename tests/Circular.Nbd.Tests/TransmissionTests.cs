using System.Buffers.Binary;
using Circular.Nbd.Tests.Support;
using static Circular.Nbd.Tests.Support.RawNbdClient;

namespace Circular.Nbd.Tests;

public sealed class TransmissionTests
{
    private const int MiB = 1024 * 1024;

    private static NbdServerOptions Writable => new() { Writable = true };

    [Fact]
    public async Task Read_simple_returns_the_bytes()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        byte[] data = await connection.Client.ReadSimpleAsync(42, 12345, 100_000);
        Assert.Equal(connection.Catalog.DataOf("os").AsSpan(12345, 100_000).ToArray(), data);
    }

    [Fact]
    public async Task Read_structured_returns_one_offset_data_chunk()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdRead, 7, 4096, 8192, FlagDf);
        Chunk chunk = await connection.Client.ReadChunkAsync();
        Assert.Equal((ChunkOffsetData, 7ul, true), (chunk.Type, chunk.Cookie, chunk.Done));
        Assert.Equal(4096ul, BinaryPrimitives.ReadUInt64BigEndian(chunk.Payload));
        Assert.Equal(connection.Catalog.DataOf("os").AsSpan(4096, 8192).ToArray(), chunk.Payload[8..]);
    }

    [Fact]
    public async Task Read_structured_of_zeros_returns_an_offset_hole_chunk()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdRead, 8, 2 * MiB, 65536);
        Chunk chunk = await connection.Client.ReadChunkAsync();
        Assert.Equal((ChunkOffsetHole, 8ul, true), (chunk.Type, chunk.Cookie, chunk.Done));
        Assert.Equal(2ul * MiB, BinaryPrimitives.ReadUInt64BigEndian(chunk.Payload));
        Assert.Equal(65536u, BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(8)));
    }

    [Fact]
    public async Task Read_past_the_end_is_invalid()
    {
        await using var connection = new InMemoryConnection();
        var (size, _) = await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(CmdRead, 1, (ulong)size - 100, 512);
        Assert.Equal((EINVAL, 1ul), await connection.Client.ReadSimpleReplyAsync());
    }

    [Fact]
    public async Task Read_error_in_structured_mode_is_an_error_chunk()
    {
        await using var connection = new InMemoryConnection();
        var (size, _) = await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdRead, 3, (ulong)size, 1);
        Chunk chunk = await connection.Client.ReadChunkAsync();
        Assert.Equal((ChunkError, 3ul, true), (chunk.Type, chunk.Cookie, chunk.Done));
        Assert.Equal(EINVAL, BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload));
    }

    [Fact]
    public async Task Read_failing_in_the_image_is_eio_and_the_connection_continues()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        MemoryBlockImage image = connection.Catalog.Opened.Single();
        image.FailRead = (8192, new IOException("disk on fire"));
        await connection.Client.SendRequestAsync(CmdRead, 1, 8192, 512);
        Assert.Equal((EIO, 1ul), await connection.Client.ReadSimpleReplyAsync());
        Assert.Equal(512, (await connection.Client.ReadSimpleAsync(2, 0, 512)).Length);
        Assert.Contains("disk on fire", connection.LogText);
    }

    [Fact]
    public async Task Write_to_read_only_export_is_eperm_and_the_payload_is_skipped()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        byte[] payload = new byte[4096];
        payload.AsSpan().Fill(0xAA);
        await connection.Client.SendRequestAsync(CmdWrite, 1, 0, 4096, payload: payload);
        Assert.Equal((EPERM, 1ul), await connection.Client.ReadSimpleReplyAsync());
        // Still in sync: the next request is parsed after the skipped payload.
        Assert.NotEqual(payload, await connection.Client.ReadSimpleAsync(2, 0, 4096));
    }

    [Fact]
    public async Task Write_changes_the_image_and_fua_flushes()
    {
        await using var connection = new InMemoryConnection(options: Writable);
        await connection.Client.NegotiateAsync("os", structured: false);
        byte[] payload = RandomData.Bytes(65536, seed: 9);
        await connection.Client.SendRequestAsync(CmdWrite, 1, MiB, 65536, FlagFua, payload);
        Assert.Equal((0u, 1ul), await connection.Client.ReadSimpleReplyAsync());
        Assert.Equal(payload, connection.Catalog.DataOf("os").AsSpan(MiB, 65536).ToArray());
        Assert.Equal(payload, await connection.Client.ReadSimpleAsync(2, MiB, 65536));
        Assert.Equal(1, connection.Catalog.Opened.Single().Flushes);
    }

    [Fact]
    public async Task Write_past_the_end_is_enospc()
    {
        await using var connection = new InMemoryConnection(options: Writable);
        var (size, _) = await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(CmdWrite, 1, (ulong)size - 10, 20, payload: new byte[20]);
        Assert.Equal((ENOSPC, 1ul), await connection.Client.ReadSimpleReplyAsync());
        await connection.Client.SendRequestAsync(CmdWriteZeroes, 2, (ulong)size, 1);
        Assert.Equal((ENOSPC, 2ul), await connection.Client.ReadSimpleReplyAsync());
    }

    [Fact]
    public async Task Flush_succeeds_and_reaches_a_writable_image()
    {
        await using var connection = new InMemoryConnection(options: Writable);
        await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(CmdFlush, 1, 0, 0);
        Assert.Equal((0u, 1ul), await connection.Client.ReadSimpleReplyAsync());
        Assert.Equal(1, connection.Catalog.Opened.Single().Flushes);
    }

    [Theory]
    [InlineData(CmdTrim, 0)]
    [InlineData(CmdWriteZeroes, 0)]
    [InlineData(CmdWriteZeroes, FlagNoHole)]
    public async Task Trim_and_write_zeroes_make_the_range_read_as_zeros(ushort command, ushort flags)
    {
        await using var connection = new InMemoryConnection(options: Writable);
        await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(command, 1, 4096, 3 * MiB / 2, flags);
        Assert.Equal((0u, 1ul), await connection.Client.ReadSimpleReplyAsync());
        byte[] data = connection.Catalog.DataOf("os");
        Assert.False(data.AsSpan(4096, 3 * MiB / 2).ContainsAnyExcept((byte)0));
        Assert.True(data.AsSpan(0, 4096).ContainsAnyExcept((byte)0));
        MemoryBlockImage image = connection.Catalog.Opened.Single();
        // NO_HOLE asks for allocated zeros: written as data, not punched.
        Assert.Equal(flags == FlagNoHole ? (0, 2) : (1, 0), (image.ZeroWrites, image.Writes));
    }

    [Fact]
    public async Task WriteZeroes_fast_zero_is_not_supported()
    {
        await using var connection = new InMemoryConnection(options: Writable);
        await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(CmdWriteZeroes, 1, 0, 4096, FlagFastZero);
        Assert.Equal((ENOTSUP, 1ul), await connection.Client.ReadSimpleReplyAsync());
        Assert.True(connection.Catalog.DataOf("os").AsSpan(0, 4096).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public async Task Cache_calls_prefetch()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(CmdCache, 1, 0, MiB);
        Assert.Equal((0u, 1ul), await connection.Client.ReadSimpleReplyAsync());
        Assert.Equal(1, connection.Catalog.Opened.Single().Prefetches);
    }

    [Fact]
    public async Task BlockStatus_reports_data_and_holes_in_order()
    {
        await using var connection = new InMemoryConnection();
        var (size, _) = await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdBlockStatus, 5, 0, (uint)size);
        Chunk chunk = await connection.Client.ReadChunkAsync();
        Assert.Equal((ChunkBlockStatus, 5ul, true), (chunk.Type, chunk.Cookie, chunk.Done));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload));
        // os: data [0,1M), zero [1M,3M), data [3M,4M), zero [4M,8M)
        Assert.Equal([(1u * MiB, 0u), (2u * MiB, 3u), (1u * MiB, 0u), (4u * MiB, 3u)], Descriptors(chunk));
    }

    [Fact]
    public async Task BlockStatus_req_one_returns_one_extent_within_the_request()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdBlockStatus, 5, MiB + 100, 4096, FlagReqOne);
        Assert.Equal([(4096u, 3u)], Descriptors(await connection.Client.ReadChunkAsync()));
        await connection.Client.SendRequestAsync(CmdBlockStatus, 6, 512, 8 * MiB - 512, FlagReqOne);
        Assert.Equal([(1u * MiB - 512, 0u)], Descriptors(await connection.Client.ReadChunkAsync()));
    }

    [Fact]
    public async Task BlockStatus_past_the_end_is_an_error_chunk()
    {
        await using var connection = new InMemoryConnection();
        var (size, _) = await connection.Client.NegotiateAsync("os");
        await connection.Client.SendRequestAsync(CmdBlockStatus, 5, (ulong)size - 1, 2);
        Chunk chunk = await connection.Client.ReadChunkAsync();
        Assert.Equal((ChunkError, EINVAL), (chunk.Type, BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload)));
    }

    [Theory]
    [InlineData(CmdRead, 0x80)]       // unknown flag bit
    [InlineData(CmdRead, FlagFua)]    // FUA means nothing on a read
    [InlineData(99, 0)]               // unknown command
    public async Task Unknown_command_or_flag_is_invalid(ushort command, ushort flags)
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        await connection.Client.SendRequestAsync(command, 1, 0, 512, flags);
        Assert.Equal((EINVAL, 1ul), await connection.Client.ReadSimpleReplyAsync());
        Assert.Equal(16, (await connection.Client.ReadSimpleAsync(2, 0, 16)).Length);
    }

    [Fact]
    public async Task Replies_may_overtake_a_slow_request()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        MemoryBlockImage image = connection.Catalog.Opened.Single();
        image.GatedReadOffset = 0;
        await connection.Client.SendRequestAsync(CmdRead, 1, 0, 4096);
        await connection.Client.SendRequestAsync(CmdRead, 2, 4096, 4096);
        AnyReply first = await connection.Client.ReadAnyReplyAsync(4096);
        Assert.Equal(2ul, first.Cookie);
        image.ReadGate.SetResult();
        AnyReply second = await connection.Client.ReadAnyReplyAsync(4096);
        Assert.Equal(1ul, second.Cookie);
        Assert.Equal(connection.Catalog.DataOf("os").AsSpan(0, 4096).ToArray(), second.Data);
    }

    [Fact]
    public async Task Disc_finishes_outstanding_requests_before_closing()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os", structured: false);
        MemoryBlockImage image = connection.Catalog.Opened.Single();
        image.GatedReadOffset = 0;
        await connection.Client.SendRequestAsync(CmdRead, 1, 0, 4096);
        await connection.Client.SendRequestAsync(CmdDisc, 2, 0, 0);
        await Task.Delay(50);
        Assert.False(image.Disposed);
        image.ReadGate.SetResult();
        AnyReply reply = await connection.Client.ReadAnyReplyAsync(4096);
        Assert.Equal((1ul, 0u), (reply.Cookie, reply.Error));
        Assert.True(await connection.Client.IsClosedByServerAsync());
        await connection.AssertServerEndsAsync();
        Assert.True(image.Disposed);
    }

    [Fact]
    public async Task Pipelined_requests_beyond_max_in_flight_are_all_answered()
    {
        await using var connection = new InMemoryConnection(options: new NbdServerOptions { MaxInFlight = 2, MaxInFlightBytes = 8192 });
        await connection.Client.NegotiateAsync("os");
        const int Count = 300;
        // Send everything before reading anything: the server must apply back-pressure, not deadlock.
        Task send = Task.Run(async () =>
        {
            for (int i = 0; i < Count; i++)
                await connection.Client.SendRequestAsync(CmdRead, (ulong)i, (ulong)i * 4096, 4096);
        });
        byte[] data = connection.Catalog.DataOf("os");
        var seen = new HashSet<ulong>();
        for (int i = 0; i < Count; i++)
        {
            Chunk chunk = await connection.Client.ReadChunkAsync();
            Assert.True(seen.Add(chunk.Cookie));
            int offset = (int)chunk.Cookie * 4096;
            byte[] expected = data.AsSpan(offset, 4096).ToArray();
            if (chunk.Type == ChunkOffsetData)
                Assert.Equal(expected, chunk.Payload[8..]);
            else
                Assert.False(expected.AsSpan().ContainsAnyExcept((byte)0));
        }
        await send;
        await connection.Client.DisconnectAsync();
    }

    [Fact]
    public async Task Connection_end_disposes_the_image()
    {
        await using var connection = new InMemoryConnection();
        await connection.Client.NegotiateAsync("os");
        await connection.Client.DisconnectAsync();
        await connection.AssertServerEndsAsync();
        Assert.True(connection.Catalog.Opened.Single().Disposed);
    }

    private static List<(uint Length, uint Flags)> Descriptors(Chunk chunk)
    {
        Assert.Equal(ChunkBlockStatus, chunk.Type);
        var result = new List<(uint, uint)>();
        for (int at = 4; at < chunk.Payload.Length; at += 8)
            result.Add((BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(at)), BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(at + 4))));
        return result;
    }
}
