namespace Circular.Storage.Posix;

/// <summary>
/// An advisory flock(2) on a lock file: shared or exclusive, waiting until granted. Released on dispose
/// and by the kernel when the process dies, so a killed push never leaves a stale lock.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream _file;

    private FileLock(FileStream file) => _file = file;

    public static async Task<FileLock> AcquireAsync(string path, bool exclusive, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1);
        int fd = (int)fs.SafeFileHandle.DangerousGetHandle();
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
