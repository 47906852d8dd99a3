using System.Runtime.InteropServices;

namespace Circular.Storage.Posix;

/// <summary>The few POSIX calls .NET does not expose: advisory locks, syncfs, SEEK_DATA/SEEK_HOLE, the open-file limit.</summary>
public static partial class Libc
{
    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public const int SEEK_SET = 0, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
    public const int ENXIO = 6, EINTR = 4, EWOULDBLOCK = 11;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int flock(int fd, int operation);

    public const int O_RDWR = 2, O_CREAT = 0x40, O_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int syncfs(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fallocate(int fd, int mode, long offset, long len);

    public const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;

    private const int RLIMIT_NOFILE = 7;

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int getrlimit(int resource, ulong* limits);

    /// <summary>The soft limit on open files (1024 when it cannot be read), for caches of open handles to stay well under.</summary>
    public static unsafe long OpenFileLimit()
    {
        if (!OperatingSystem.IsLinux()) return 1024;
        ulong* limits = stackalloc ulong[2];
        try { return getrlimit(RLIMIT_NOFILE, limits) == 0 ? (long)Math.Min(limits[0], long.MaxValue) : 1024; }
        catch (EntryPointNotFoundException) { return 1024; }
    }

    public static void SyncFs(string path)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        syncfs((int)h.DangerousGetHandle());
    }
}
