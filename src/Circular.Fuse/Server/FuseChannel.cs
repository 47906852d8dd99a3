using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Microsoft.Extensions.Logging;

namespace Circular.Fuse.Server;

/// <summary>
/// The /dev/fuse fd plus an eventfd that wakes every reader for shutdown. Each reply is exactly one write(2),
/// which the kernel treats atomically, so replies from any number of threads need no lock.
/// </summary>
internal sealed unsafe class FuseChannel : IDisposable
{
    private readonly ILogger _log;
    private int _fd;
    private int _wakeFd;

    public FuseChannel(int fd, ILogger log)
    {
        _fd = fd;
        _log = log;
        // Readers poll instead of blocking in read(2): a thread stuck in read cannot be woken from .NET, and a
        // forced stop (a lazily unmounted mount still in use) must not wait for the last user to close a file.
        int flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.Fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) < 0)
            throw new FuseMountException($"cannot make /dev/fuse non-blocking: {Libc.Describe(Libc.LastError)}");
        _wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0) throw new FuseMountException($"eventfd failed: {Libc.Describe(Libc.LastError)}");
    }

    public int Fd => _fd;

    /// <summary>Outcome of waiting for one request.</summary>
    public enum ReadResult { Request, Retry, Woken, Unmounted, Failed }

    /// <summary>Reads one whole request into <paramref name="buffer"/> (the kernel never splits or merges them).</summary>
    public ReadResult Read(byte[] buffer, out int length, out int errno)
    {
        length = 0;
        errno = 0;
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
        if (Libc.Poll(fds, 2, -1) < 0)
        {
            errno = Libc.LastError;
            return errno == Errno.EINTR ? ReadResult.Retry : ReadResult.Failed;
        }
        if (fds[1].Revents != 0) return ReadResult.Woken;

        nint n;
        fixed (byte* p = buffer) n = Libc.Read(_fd, p, buffer.Length);
        // /dev/fuse never returns 0; end-of-file only happens on a test socket whose peer closed. Without this
        // a reader would spin on a descriptor that polls readable forever.
        if (n == 0) return ReadResult.Unmounted;
        if (n > 0)
        {
            length = (int)n;
            return ReadResult.Request;
        }
        errno = Libc.LastError;
        return errno switch {
            // EAGAIN: another reader took the request poll woke us for. ENOENT: it was interrupted meanwhile.
            Errno.EINTR or Errno.EAGAIN or Errno.ENOENT => ReadResult.Retry,
            Errno.ENODEV or Errno.ECONNABORTED => ReadResult.Unmounted,
            _ => ReadResult.Failed,
        };
    }

    /// <summary>Wakes every reader; they return <see cref="ReadResult.Woken"/> from then on.</summary>
    public void Wake()
    {
        ulong one = 1;
        Libc.Write(_wakeFd, (byte*)&one, sizeof(ulong));
    }

    public void ReplyError(ulong unique, int errno)
    {
        var header = new FuseOutHeader { Len = (uint)sizeof(FuseOutHeader), Error = -errno, Unique = unique };
        Send((byte*)&header, sizeof(FuseOutHeader));
    }

    public void ReplyOk(ulong unique) => ReplyError(unique, 0);

    /// <summary>Header plus one fixed-size struct; <paramref name="size"/> may cut it short for old kernels.</summary>
    public void Reply<T>(ulong unique, in T payload, int size = -1) where T : unmanaged
    {
        if (size < 0) size = sizeof(T);
        int total = sizeof(FuseOutHeader) + size;
        byte* buffer = stackalloc byte[sizeof(FuseOutHeader) + sizeof(T)];
        *(FuseOutHeader*)buffer = new FuseOutHeader { Len = (uint)total, Error = 0, Unique = unique };
        Unsafe.CopyBlockUnaligned(buffer + sizeof(FuseOutHeader), Unsafe.AsPointer(ref Unsafe.AsRef(in payload)), (uint)size);
        Send(buffer, total);
    }

    /// <summary>Sends a reply whose payload was already placed after a 16-byte gap at the start of <paramref name="buffer"/>.</summary>
    public void ReplyBuffer(ulong unique, byte[] buffer, int payloadLength)
    {
        int total = sizeof(FuseOutHeader) + payloadLength;
        MemoryMarshal.Write(buffer, new FuseOutHeader { Len = (uint)total, Error = 0, Unique = unique });
        fixed (byte* p = buffer) Send(p, total);
    }

    private void Send(byte* data, int length)
    {
        nint n = Libc.Write(_fd, data, length);
        if (n >= 0) return;
        int errno = Libc.LastError;
        // ENOENT: the request was interrupted and the kernel forgot it, which is normal. ENODEV: unmounted under us.
        if (errno is Errno.ENOENT or Errno.ENODEV) return;
        _log.ReplyFailed(Libc.Describe(errno));
    }

    public void Dispose()
    {
        // Closing the last /dev/fuse fd aborts the connection, so the owner detaches the mount first.
        if (_fd >= 0) Libc.Close(_fd);
        if (_wakeFd >= 0) Libc.Close(_wakeFd);
        _fd = _wakeFd = -1;
    }
}
