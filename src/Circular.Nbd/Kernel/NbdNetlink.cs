using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Circular.Core.Errors;

namespace Circular.Nbd.Kernel;

/// <summary>
/// The Linux NBD driver's generic-netlink interface (linux/nbd-netlink.h, since 4.12): the device is configured with
/// one message and then lives on its own, with no thread lent to the kernel. The older ioctl interface keeps a thread
/// inside NBD_DO_IT for the device's life, and any signal to it — even SIGSTOP and SIGCONT, which systemd sends every
/// process at shutdown and which cannot be blocked — tears the device down under a mounted root.
/// </summary>
internal static unsafe partial class NbdNetlink
{
    private const int AF_NETLINK = 16, NETLINK_GENERIC = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    private const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLMSG_ERROR = 2, GENL_ID_CTRL = 0x10, NLA_F_NESTED = 0x8000;
    private const byte CTRL_CMD_GETFAMILY = 3, NBD_CMD_CONNECT = 1, NBD_CMD_DISCONNECT = 2;
    private const ushort CTRL_ATTR_FAMILY_ID = 1, CTRL_ATTR_FAMILY_NAME = 2;
    private const ushort NBD_ATTR_INDEX = 1, NBD_ATTR_SIZE_BYTES = 2, NBD_ATTR_BLOCK_SIZE_BYTES = 3, NBD_ATTR_SERVER_FLAGS = 5,
        NBD_ATTR_SOCKETS = 7, NBD_SOCK_ITEM = 1, NBD_SOCK_FD = 1;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendTo(int fd, byte* buf, nint len, int flags, byte* addr, int addrLen);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>Connects device <paramref name="index"/> (/dev/nbdINDEX) to <paramref name="socketFd"/>.</summary>
    public static void Connect(int index, long sizeBytes, long blockSize, ulong serverFlags, int socketFd, string device)
    {
        var attrs = new List<byte[]>
        {
            Attr(NBD_ATTR_INDEX, U32((uint)index)),
            Attr(NBD_ATTR_SIZE_BYTES, U64((ulong)sizeBytes)),
            Attr(NBD_ATTR_BLOCK_SIZE_BYTES, U64((ulong)blockSize)),
            Attr(NBD_ATTR_SERVER_FLAGS, U64(serverFlags)),
            Attr(NBD_ATTR_SOCKETS | NLA_F_NESTED, Attr(NBD_SOCK_ITEM | NLA_F_NESTED, Attr(NBD_SOCK_FD, U32((uint)socketFd)))),
        };
        Request(NBD_CMD_CONNECT, attrs, device);
    }

    /// <summary>Disconnects /dev/nbdINDEX (its file systems should be unmounted first).</summary>
    public static void Disconnect(int index, string device) => Request(NBD_CMD_DISCONNECT, [Attr(NBD_ATTR_INDEX, U32((uint)index))], device);

    private static void Request(byte command, List<byte[]> attrs, string device)
    {
        int fd = Socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
        if (fd < 0) throw new CircularException($"cannot open a netlink socket: {LinuxSockets.Describe(Marshal.GetLastPInvokeError())}");
        try
        {
            ushort family = FamilyId(fd, device);
            byte[] reply = Exchange(fd, family, command, attrs);
            int error = ErrorOf(reply);
            if (error != 0)
                throw new CircularException(error == 16
                    ? $"{device} is in use by another NBD client (nbd-client -d {device}, or choose another device)"
                    : $"{device}: the kernel refused the NBD {(command == NBD_CMD_CONNECT ? "connect" : "disconnect")}: {LinuxSockets.Describe(error)}");
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>The generic-netlink family id of "nbd" (the driver registers it when loaded).</summary>
    private static ushort FamilyId(int fd, string device)
    {
        byte[] reply = Exchange(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, [Attr(CTRL_ATTR_FAMILY_NAME, Encoding.ASCII.GetBytes("nbd\0"))]);
        if (BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(4)) == NLMSG_ERROR)
            throw new NotFoundException($"{device}: the kernel's NBD driver is not loaded (modprobe nbd)");
        // nlmsghdr (16) + genlmsghdr (4), then attributes.
        for (int at = 20; at + 4 <= reply.Length;)
        {
            ushort len = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at));
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at + 2));
            if (len < 4) break;
            if ((type & 0x3fff) == CTRL_ATTR_FAMILY_ID) return BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at + 4));
            at += (len + 3) & ~3;
        }
        throw new CircularException($"{device}: the kernel did not say the NBD netlink family's id");
    }

    /// <summary>Sends one request (asking for an acknowledgement) and returns the first reply message.</summary>
    private static byte[] Exchange(int fd, ushort type, byte command, List<byte[]> attrs)
    {
        int length = 16 + 4 + attrs.Sum(a => a.Length);
        byte[] msg = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(6), NLM_F_REQUEST | NLM_F_ACK);
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(8), 1); // sequence
        msg[16] = command;
        msg[17] = 1; // version
        int p = 20;
        foreach (var a in attrs) { a.CopyTo(msg, p); p += a.Length; }
        byte* addr = stackalloc byte[12]; // sockaddr_nl: the kernel (pid 0)
        new Span<byte>(addr, 12).Clear();
        addr[0] = AF_NETLINK;
        fixed (byte* m = msg)
            if (SendTo(fd, m, msg.Length, 0, addr, 12) < 0)
                throw new CircularException($"netlink send failed: {LinuxSockets.Describe(Marshal.GetLastPInvokeError())}");
        byte[] buf = new byte[8192];
        nint n;
        fixed (byte* b = buf) n = Recv(fd, b, buf.Length, 0);
        if (n < 16) throw new CircularException($"netlink receive failed: {LinuxSockets.Describe(Marshal.GetLastPInvokeError())}");
        int first = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(buf), (uint)n);
        return buf[..first];
    }

    /// <summary>The errno of an NLMSG_ERROR reply (0: an acknowledgement); 0 for any other message.</summary>
    private static int ErrorOf(byte[] reply) =>
        BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(4)) == NLMSG_ERROR && reply.Length >= 20 ? -BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(16)) : 0;

    private static byte[] Attr(ushort type, byte[] payload)
    {
        int len = 4 + payload.Length;
        byte[] a = new byte[(len + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(a, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(a.AsSpan(2), type);
        payload.CopyTo(a, 4);
        return a;
    }

    private static byte[] U32(uint v)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] U64(ulong v)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }
}
