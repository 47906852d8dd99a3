using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Circular.Nbd.Tests.Support;

/// <summary>
/// A deliberately low-level NBD client for protocol tests: it sends exactly the bytes it is told to, so tests
/// can also send wrong ones. Every read times out instead of hanging the test run.
/// </summary>
public sealed class RawNbdClient(Stream stream) : IAsyncDisposable
{
    public const ulong NbdMagic = 0x4e42444d41474943;
    public const ulong IHaveOpt = 0x49484156454F5054;
    public const ulong OptionReplyMagic = 0x0003e889045565a9;
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint StructuredReplyMagic = 0x668e33ef;

    public const uint OptExportName = 1, OptAbort = 2, OptList = 3, OptStartTls = 5, OptInfo = 6, OptGo = 7,
        OptStructuredReply = 8, OptListMetaContext = 9, OptSetMetaContext = 10;
    public const uint RepAck = 1, RepServer = 2, RepInfo = 3, RepMetaContext = 4;
    public const uint ErrUnsup = 0x8000_0001, ErrPolicy = 0x8000_0002, ErrInvalid = 0x8000_0003, ErrUnknown = 0x8000_0006;
    public const ushort CmdRead = 0, CmdWrite = 1, CmdDisc = 2, CmdFlush = 3, CmdTrim = 4, CmdCache = 5, CmdWriteZeroes = 6, CmdBlockStatus = 7;
    public const ushort FlagFua = 1, FlagNoHole = 2, FlagDf = 4, FlagReqOne = 8, FlagFastZero = 16;
    public const ushort ChunkNone = 0, ChunkOffsetData = 1, ChunkOffsetHole = 2, ChunkBlockStatus = 5, ChunkError = 0x8001;
    public const uint EPERM = 1, EIO = 5, EINVAL = 22, ENOSPC = 28, ENOTSUP = 95;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public Stream Stream { get; } = stream;

    public static async Task<RawNbdClient> ConnectAsync(EndPoint endpoint)
    {
        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(endpoint, cts.Token);
        return new RawNbdClient(new NetworkStream(socket, ownsSocket: true));
    }

    // ---- raw bytes

    public async Task<byte[]> ReadExactAsync(int count)
    {
        byte[] buffer = new byte[count];
        using var cts = new CancellationTokenSource(Timeout);
        await Stream.ReadExactlyAsync(buffer, cts.Token);
        return buffer;
    }

    public async Task WriteAsync(byte[] data)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await Stream.WriteAsync(data, cts.Token);
        await Stream.FlushAsync(cts.Token);
    }

    /// <summary>True if the server closes the connection (end of stream or reset) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        byte[] buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            while (true)
            {
                if (await Stream.ReadAsync(buffer, cts.Token) == 0)
                    return true;
            }
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // ---- handshake

    public async Task<ushort> ReadGreetingAsync()
    {
        byte[] greeting = await ReadExactAsync(18);
        Assert.Equal(NbdMagic, BinaryPrimitives.ReadUInt64BigEndian(greeting));
        Assert.Equal(IHaveOpt, BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)));
        return BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16));
    }

    public Task SendClientFlagsAsync(uint flags)
    {
        byte[] data = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(data, flags);
        return WriteAsync(data);
    }

    /// <summary>Greeting plus client flags FIXED_NEWSTYLE|NO_ZEROES, as libnbd and qemu send them.</summary>
    public async Task StartAsync(uint clientFlags = 3)
    {
        await ReadGreetingAsync();
        await SendClientFlagsAsync(clientFlags);
    }

    public Task SendOptionAsync(uint option, byte[] data) => SendOptionAsync(option, (uint)data.Length, data);

    /// <summary>Sends an option header declaring <paramref name="declaredLength"/> and then <paramref name="data"/>.</summary>
    public Task SendOptionAsync(uint option, uint declaredLength, byte[] data)
    {
        byte[] frame = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(frame, IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(12), declaredLength);
        data.CopyTo(frame, 16);
        return WriteAsync(frame);
    }

    public async Task<OptionReply> ReadOptionReplyAsync()
    {
        byte[] header = await ReadExactAsync(20);
        Assert.Equal(OptionReplyMagic, BinaryPrimitives.ReadUInt64BigEndian(header));
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        byte[] data = length == 0 ? [] : await ReadExactAsync((int)length);
        return new OptionReply(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), data);
    }

    public static byte[] InfoRequest(string name, params ushort[] infos)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        byte[] data = new byte[4 + nameBytes.Length + 2 + 2 * infos.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)nameBytes.Length);
        nameBytes.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4 + nameBytes.Length), (ushort)infos.Length);
        for (int i = 0; i < infos.Length; i++)
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(6 + nameBytes.Length + 2 * i), infos[i]);
        return data;
    }

    public static byte[] MetaContextRequest(string export, params string[] queries)
    {
        var data = new List<byte>();
        void U32(int v) { byte[] b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, (uint)v); data.AddRange(b); }
        byte[] name = Encoding.UTF8.GetBytes(export);
        U32(name.Length);
        data.AddRange(name);
        U32(queries.Length);
        foreach (string query in queries)
        {
            byte[] q = Encoding.UTF8.GetBytes(query);
            U32(q.Length);
            data.AddRange(q);
        }
        return [.. data];
    }

    /// <summary>Reads INFO replies up to the ACK (or the first error, returned as the final reply).</summary>
    public async Task<(List<OptionReply> Infos, OptionReply Last)> ReadInfoRepliesAsync()
    {
        var infos = new List<OptionReply>();
        while (true)
        {
            OptionReply reply = await ReadOptionReplyAsync();
            if (reply.Type != RepInfo)
                return (infos, reply);
            infos.Add(reply);
        }
    }

    /// <summary>STRUCTURED_REPLY (optional), SET_META_CONTEXT base:allocation (optional), GO. Returns size and flags.</summary>
    public async Task<(long Size, ushort Flags)> NegotiateAsync(string export, bool structured = true, bool baseAllocation = true)
    {
        await StartAsync();
        if (structured)
        {
            await SendOptionAsync(OptStructuredReply, []);
            Assert.Equal(RepAck, (await ReadOptionReplyAsync()).Type);
        }
        if (structured && baseAllocation)
        {
            await SendOptionAsync(OptSetMetaContext, MetaContextRequest(export, "base:allocation"));
            OptionReply context = await ReadOptionReplyAsync();
            Assert.Equal(RepMetaContext, context.Type);
            Assert.Equal(RepAck, (await ReadOptionReplyAsync()).Type);
        }
        await SendOptionAsync(OptGo, InfoRequest(export));
        var (infos, last) = await ReadInfoRepliesAsync();
        Assert.Equal(RepAck, last.Type);
        OptionReply exportInfo = infos.Single(i => BinaryPrimitives.ReadUInt16BigEndian(i.Data) == 0);
        return (BinaryPrimitives.ReadInt64BigEndian(exportInfo.Data.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(exportInfo.Data.AsSpan(10)));
    }

    // ---- transmission

    public Task SendRequestAsync(ushort type, ulong cookie, ulong offset, uint length, ushort flags = 0, byte[]? payload = null, uint magic = RequestMagic)
    {
        byte[] frame = new byte[28 + (payload?.Length ?? 0)];
        BinaryPrimitives.WriteUInt32BigEndian(frame, magic);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(24), length);
        payload?.CopyTo(frame, 28);
        return WriteAsync(frame);
    }

    /// <summary>Reads a simple reply header; the data of a successful READ follows and is read by the caller.</summary>
    public async Task<(uint Error, ulong Cookie)> ReadSimpleReplyAsync()
    {
        byte[] header = await ReadExactAsync(16);
        Assert.Equal(SimpleReplyMagic, BinaryPrimitives.ReadUInt32BigEndian(header));
        return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)), BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)));
    }

    public async Task<Chunk> ReadChunkAsync()
    {
        byte[] header = await ReadExactAsync(20);
        Assert.Equal(StructuredReplyMagic, BinaryPrimitives.ReadUInt32BigEndian(header));
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        byte[] payload = length == 0 ? [] : await ReadExactAsync((int)length);
        return new Chunk(BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)), BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6)),
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)), payload);
    }

    /// <summary>Reads any reply: a simple one (with <paramref name="readLength"/> data bytes if it succeeded) or one chunk.</summary>
    public async Task<AnyReply> ReadAnyReplyAsync(int readLength = 0)
    {
        byte[] magicBytes = await ReadExactAsync(4);
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(magicBytes);
        if (magic == SimpleReplyMagic)
        {
            byte[] rest = await ReadExactAsync(12);
            uint error = BinaryPrimitives.ReadUInt32BigEndian(rest);
            ulong cookie = BinaryPrimitives.ReadUInt64BigEndian(rest.AsSpan(4));
            byte[] data = error == 0 && readLength > 0 ? await ReadExactAsync(readLength) : [];
            return new AnyReply(cookie, error, null, data);
        }
        Assert.Equal(StructuredReplyMagic, magic);
        byte[] header = await ReadExactAsync(16);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
        byte[] payload = length == 0 ? [] : await ReadExactAsync((int)length);
        var chunk = new Chunk(BinaryPrimitives.ReadUInt16BigEndian(header), BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)),
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(4)), payload);
        return new AnyReply(chunk.Cookie, chunk.Type == ChunkError ? BinaryPrimitives.ReadUInt32BigEndian(payload) : 0, chunk, payload);
    }

    public async Task<byte[]> ReadSimpleAsync(ulong cookie, ulong offset, uint length)
    {
        await SendRequestAsync(CmdRead, cookie, offset, length);
        var (error, replyCookie) = await ReadSimpleReplyAsync();
        Assert.Equal(0u, error);
        Assert.Equal(cookie, replyCookie);
        return await ReadExactAsync((int)length);
    }

    public async Task DisconnectAsync()
    {
        await SendRequestAsync(CmdDisc, 0, 0, 0);
        Assert.True(await IsClosedByServerAsync());
    }

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}

public sealed record OptionReply(uint Option, uint Type, byte[] Data)
{
    public string Text => Encoding.UTF8.GetString(Data);
}

public sealed record Chunk(ushort Flags, ushort Type, ulong Cookie, byte[] Payload)
{
    public bool Done => (Flags & 1) != 0;
}

public sealed record AnyReply(ulong Cookie, uint Error, Chunk? Chunk, byte[] Data);
