namespace Circular.Fuse.Native;

/// <summary>Linux errno values (x86-64 and arm64 agree) used on the FUSE wire and from libc calls.</summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, EACCES = 13,
        EBUSY = 16, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EFBIG = 27, ENOSPC = 28,
        EROFS = 30, ENOSYS = 38, ENOMEM = 12, EOPNOTSUPP = 95, ECONNABORTED = 103;
}
