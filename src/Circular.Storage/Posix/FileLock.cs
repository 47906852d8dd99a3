using Microsoft.Win32.SafeHandles;

namespace Circular.Storage.Posix;

/// <summary>
/// An advisory flock(2) on a lock file: shared or exclusive, waiting until granted. Released on dispose
/// and by the kernel when the process dies, so a killed push never leaves a stale lock.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly SafeFileHandle _file;

    private FileLock(SafeFileHandle file) => _file = file;

    public static async Task<FileLock> AcquireAsync(string path, bool exclusive, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // open(2) directly: a FileStream would take its own non-blocking flock to emulate FileShare,
        // and then fail instead of waiting while another process holds this lock.
        int fd = Libc.open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0x1a4 /* 0644 */);
        if (fd < 0) throw new IOException($"cannot open lock file {path} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        var fs = new SafeFileHandle(fd, ownsHandle: true);
        int op = (exclusive ? Libc.LOCK_EX : Libc.LOCK_SH) | Libc.LOCK_NB;
        try
        {
            int delay = 5;
            while (Libc.flock(fd, op) != 0)
            {
                int err = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (err != Libc.EWOULDBLOCK && err != Libc.EINTR) throw new IOException($"flock {path} failed (errno {err})");
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 200);
            }
        }
        catch
        {
            fs.Dispose();
            throw;
        }
        return new FileLock(fs);
    }

    public void Dispose() => _file.Dispose();
}
