using System.Runtime.InteropServices;
using Circular.Core.Errors;
using Circular.Storage.Posix;
using Microsoft.Win32.SafeHandles;

namespace Circular.Imaging.Images;

/// <summary>
/// A raw image in a local file or block device, read with pread. Holes are found with SEEK_DATA/SEEK_HOLE so
/// publishing never reads or hashes them (reading the holes of a 2 GiB image costs seconds of kernel time).
/// </summary>
public sealed class LocalImageFile : IBlockImage
{
    private readonly SafeFileHandle _handle;
    private readonly string _path;

    private LocalImageFile(SafeFileHandle handle, string path, long size)
    {
        _handle = handle;
        _path = path;
        Size = size;
    }

    public static LocalImageFile Open(string path)
    {
        if (Directory.Exists(path)) throw new UsageException($"{path} is a directory, not an image");
        SafeFileHandle h;
        try { h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); }
        catch (FileNotFoundException) { throw new NotFoundException($"image {path} does not exist"); }
        catch (DirectoryNotFoundException) { throw new NotFoundException($"image {path} does not exist"); }
        catch (UnauthorizedAccessException) { throw new CircularException($"image {path} is not readable (permission denied)"); }
        long size = Libc.lseek((int)h.DangerousGetHandle(), 0, Libc.SEEK_END);
        if (size < 0)
        {
            h.Dispose();
            throw new CircularException($"cannot find the size of {path} (errno {Marshal.GetLastPInvokeError()})");
        }
        return new LocalImageFile(h, path, size);
    }

    public long Size { get; }
    public bool IsWritable => false;
    public string Path => _path;

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await RandomAccess.ReadAsync(_handle, buffer[done..], offset + done, ct).ConfigureAwait(false);
            if (n == 0) throw new IOException($"{_path}: unexpected end of file at {offset + done} (was it truncated while reading?)");
            done += n;
        }
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        throw new ReadOnlyImageException($"{_path} is opened read-only");

    public ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct) =>
        throw new ReadOnlyImageException($"{_path} is opened read-only");

    public ValueTask FlushAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct)
    {
        int fd = (int)_handle.DangerousGetHandle();
        var list = new List<Extent>();
        long end = Math.Min(Size, offset + length);
        long pos = offset;
        while (pos < end && list.Count < 1024)
        {
            long data = Libc.lseek(fd, pos, Libc.SEEK_DATA);
            if (data < 0)
            {
                int err = Marshal.GetLastPInvokeError();
                if (err == Libc.ENXIO) { list.Add(new Extent(pos, Size - pos, true)); break; } // only a hole remains
                list.Add(new Extent(pos, Size - pos, false)); // SEEK_DATA unsupported (e.g. a block device): all data
                break;
            }
            if (data > pos) { list.Add(new Extent(pos, data - pos, true)); pos = data; if (pos >= end) break; }
            long hole = Libc.lseek(fd, pos, Libc.SEEK_HOLE);
            if (hole < 0 || hole > Size) hole = Size;
            list.Add(new Extent(pos, hole - pos, false));
            pos = hole;
        }
        if (list.Count == 0) list.Add(new Extent(offset, Math.Max(0, Size - offset), false));
        return ValueTask.FromResult<IReadOnlyList<Extent>>(list);
    }

    public ValueTask DisposeAsync()
    {
        _handle.Dispose();
        return ValueTask.CompletedTask;
    }
}
