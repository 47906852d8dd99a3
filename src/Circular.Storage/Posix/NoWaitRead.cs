using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Circular.Storage.Posix;

/// <summary>
/// preadv2 with RWF_NOWAIT: a read that completes only if the page cache already holds the data. A server can then
/// answer from the caller's thread when it would not block (most reads of a warm archive) and move to a worker only
/// when it would, instead of paying a thread hop on every small read.
/// </summary>
public static partial class NoWaitRead
{
    private const int RWF_NOWAIT = 0x08, EINVAL = 22, ENOSYS = 38, EOPNOTSUPP = 95;
    private static volatile bool s_unsupported = !OperatingSystem.IsLinux();

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint preadv2(int fd, IoVec* iov, int iovcnt, long offset, int flags);

    /// <summary>
    /// Fills <paramref name="into"/> from <paramref name="offset"/> without blocking: the bytes read (fewer only at the
    /// end of the file), or -1 when that would mean waiting for the disk, or when the kernel or file system cannot say.
    /// </summary>
    public static unsafe int TryFully(SafeFileHandle handle, Span<byte> into, long offset)
    {
        if (s_unsupported) return -1;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            int done = 0;
            fixed (byte* p = into)
            {
                while (done < into.Length)
                {
                    var iov = new IoVec { Base = p + done, Length = (nuint)(into.Length - done) };
                    nint n = preadv2(fd, &iov, 1, offset + done, RWF_NOWAIT);
                    if (n > 0) { done += (int)n; continue; }
                    if (n == 0) break;
                    int errno = Marshal.GetLastPInvokeError();
                    // No support (an old kernel or a file system without it): never ask again. Anything else (EAGAIN: not
                    // cached; EIO) is for the blocking read to meet and report.
                    if (errno is EINVAL or ENOSYS or EOPNOTSUPP) s_unsupported = true;
                    return -1;
                }
            }
            return done;
        }
        catch (EntryPointNotFoundException)
        {
            s_unsupported = true;
            return -1;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
