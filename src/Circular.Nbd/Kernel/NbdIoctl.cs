using System.Runtime.InteropServices;
using Circular.Core.Errors;

namespace Circular.Nbd.Kernel;

/// <summary>The Linux NBD driver's ioctl interface (linux/nbd.h) and the few libc calls around it.</summary>
internal static unsafe partial class NbdIoctl
{
    // _IO(0xab, n): no direction, no size.
    public const ulong SetSocket = 0xab00, SetBlockSize = 0xab01, DoItRequest = 0xab03, ClearSock = 0xab04, ClearQueue = 0xab05,
        SetSizeBlocks = 0xab07, Disconnect = 0xab08, SetFlags = 0xab0a;

    private const int O_RDWR = 2, O_CLOEXEC = 0x80000, AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, SIG_BLOCK = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenRaw(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseRaw(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, ulong arg);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static partial int SocketPairRaw(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    private static partial int PthreadSigmask(int how, byte* set, byte* old);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial IntPtr StrError(int errno);

    public static int Open(string device)
    {
        int fd = OpenRaw(device, O_RDWR | O_CLOEXEC);
        if (fd < 0) throw new CircularException($"cannot open {device}: {Describe(Marshal.GetLastPInvokeError())}");
        return fd;
    }

    public static void Close(int fd)
    {
        if (fd >= 0) CloseRaw(fd);
    }

    /// <summary>A connected pair of stream sockets: one end for the kernel, one for our server.</summary>
    public static (int Kernel, int Ours) SocketPair()
    {
        int* fds = stackalloc int[2];
        if (SocketPairRaw(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
            throw new CircularException($"socketpair failed: {Describe(Marshal.GetLastPInvokeError())}");
        return (fds[0], fds[1]);
    }

    public static void Call(int fd, ulong request, ulong arg, string device)
    {
        if (Ioctl(fd, request, arg) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // EBUSY from SET_SOCK: another client owns the device.
            throw new CircularException(errno == 16
                ? $"{device} is in use by another NBD client (nbd-client -d {device}, or choose another device)"
                : $"{device}: NBD ioctl 0x{request:x} failed: {Describe(errno)}");
        }
    }

    public static void TryCall(int fd, ulong request) => Ioctl(fd, request, 0);

    /// <summary>Lends the calling thread to the kernel until the device is disconnected; the result of NBD_DO_IT.</summary>
    public static int DoIt(int fd, out int errno)
    {
        int rc = Ioctl(fd, DoItRequest, 0);
        errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        return rc;
    }

    /// <summary>Blocks every signal on the calling thread (glibc keeps its own internal ones).</summary>
    public static void BlockAllSignals()
    {
        byte* all = stackalloc byte[128]; // sigset_t
        new Span<byte>(all, 128).Fill(0xff);
        PthreadSigmask(SIG_BLOCK, all, null);
    }

    public static string Describe(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";
}
