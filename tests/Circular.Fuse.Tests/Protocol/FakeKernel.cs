using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Circular.Fuse.Server;
using Circular.Fuse.Tests.Support;
using Circular.Fuse.Tree;

namespace Circular.Fuse.Tests.Protocol;

/// <summary>
/// Plays the kernel's side of /dev/fuse over a SOCK_SEQPACKET socketpair, which keeps message boundaries the way
/// /dev/fuse does. Lets tests send exact (and malformed) requests that no real kernel would, and check each reply.
/// </summary>
internal sealed unsafe class FakeKernel : IDisposable
{
    private const int SOCK_SEQPACKET = 5;
    private readonly int _kernelFd;
    private readonly FuseChannel _channel;
    private ulong _unique;

    public FakeKernel(bool writable = false)
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.SocketPair(Libc.AF_UNIX, SOCK_SEQPACKET | Libc.O_CLOEXEC, 0, fds));
        _kernelFd = fds[0];
        Catalog = FakeCatalog.WithRandomVersions();
        var log = new TestLog(Log);
        _channel = new FuseChannel(fds[1], log);
        var tree = new FuseTree(Catalog, log);
        Server = new FuseServer(_channel, tree, Catalog, new NodeOwner(0, 0, writable), log);
        Server.Start(2);
    }

    public FakeCatalog Catalog { get; }
    public FuseServer Server { get; }
    public StringWriter Log { get; } = new();

    public ulong Send(FuseOpcode opcode, ulong nodeId, ReadOnlySpan<byte> body) => SendRaw((uint)opcode, nodeId, body);

    public ulong SendRaw(uint opcode, ulong nodeId, ReadOnlySpan<byte> body)
    {
        ulong unique = ++_unique;
        var message = new byte[Unsafe.SizeOf<FuseInHeader>() + body.Length];
        MemoryMarshal.Write(message, new FuseInHeader { Len = (uint)message.Length, Opcode = opcode, Unique = unique, NodeId = nodeId });
        body.CopyTo(message.AsSpan(Unsafe.SizeOf<FuseInHeader>()));
        SendBytes(message);
        return unique;
    }

    public void SendBytes(byte[] message)
    {
        fixed (byte* p = message) Assert.Equal(message.Length, (int)Libc.Write(_kernelFd, p, message.Length));
    }

    public Reply Call(FuseOpcode opcode, ulong nodeId, ReadOnlySpan<byte> body)
    {
        ulong unique = Send(opcode, nodeId, body);
        var reply = Receive(TimeSpan.FromSeconds(10)) ?? throw new Xunit.Sdk.XunitException($"no reply to {opcode}");
        Assert.Equal(unique, reply.Header.Unique);
        return reply;
    }

    public Reply? Receive(TimeSpan timeout)
    {
        var poll = new Libc.PollFd { Fd = _kernelFd, Events = Libc.POLLIN };
        if (Libc.Poll(&poll, 1, (int)timeout.TotalMilliseconds) <= 0) return null;
        var buffer = new byte[2 << 20];
        nint n;
        fixed (byte* p = buffer) n = Libc.Read(_kernelFd, p, buffer.Length);
        Assert.True(n >= Unsafe.SizeOf<FuseOutHeader>(), $"short reply: {n}");
        var header = MemoryMarshal.Read<FuseOutHeader>(buffer);
        Assert.Equal((uint)n, header.Len); // the declared length is exactly what was written
        return new Reply(header, buffer[Unsafe.SizeOf<FuseOutHeader>()..(int)n]);
    }

    /// <summary>Sends a prepared request and reads its reply into a prepared buffer, allocating nothing.</summary>
    public int RoundTrip(byte[] request, byte[] reply)
    {
        fixed (byte* q = request) Libc.Write(_kernelFd, q, request.Length);
        fixed (byte* r = reply) return (int)Libc.Read(_kernelFd, r, reply.Length);
    }

    public static byte[] Bytes<T>(T value) where T : unmanaged
    {
        var bytes = new byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(bytes, value);
        return bytes;
    }

    public static byte[] Name(string name) => [.. System.Text.Encoding.UTF8.GetBytes(name), 0];

    public void Dispose()
    {
        // Closing our end reads as end-of-file on the server's, which it treats like ENODEV.
        Libc.Close(_kernelFd);
        Assert.True(Server.Exited.Wait(TimeSpan.FromSeconds(10)), "server did not stop");
        _channel.Dispose();
    }

    public sealed record Reply(FuseOutHeader Header, byte[] Payload)
    {
        public int Error => -Header.Error;

        public T As<T>() where T : unmanaged
        {
            Assert.True(Header.Error == 0, $"error reply: errno {-Header.Error}");
            Assert.Equal(Unsafe.SizeOf<T>(), Payload.Length);
            return MemoryMarshal.Read<T>(Payload);
        }
    }
}
