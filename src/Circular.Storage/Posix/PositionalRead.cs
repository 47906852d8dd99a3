using Microsoft.Win32.SafeHandles;

namespace Circular.Storage.Posix;

/// <summary>pread until the span is full or the file ends: chunk files are small and nearly always in the page cache.</summary>
public static class PositionalRead
{
    /// <summary>Bytes read; fewer than the span's length only at the end of the file.</summary>
    public static int Fully(SafeFileHandle handle, Span<byte> into, long offset)
    {
        int done = 0;
        while (done < into.Length)
        {
            int n = RandomAccess.Read(handle, into[done..], offset + done);
            if (n == 0) break;
            done += n;
        }
        return done;
    }
}
