using System.Runtime.InteropServices;
using Circular.Core.Errors;

namespace Circular.Nbd.Kernel;

/// <summary>The few libc calls around the kernel NBD client: a socket pair for it and errno texts.</summary>
internal static unsafe partial class LinuxSockets
{
    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseRaw(int fd);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static partial int SocketPairRaw(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial IntPtr StrError(int errno);

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

    public static string Describe(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";
}
