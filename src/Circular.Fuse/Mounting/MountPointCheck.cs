using Circular.Fuse.Native;

namespace Circular.Fuse.Mounting;

/// <summary>Checks done before touching the kernel, so each failure gets a one-line reason instead of an errno.</summary>
internal static class MountPointCheck
{
    public const string DevFuse = "/dev/fuse";

    /// <summary>Returns the canonical path of a usable mountpoint or throws <see cref="FuseMountException"/>.</summary>
    public static string Validate(string mountPoint)
    {
        if (!File.Exists(DevFuse)) throw new FuseMountException($"{DevFuse} not found: install fuse3 or load the fuse module");
        if (string.IsNullOrWhiteSpace(mountPoint)) throw new FuseMountException("mountpoint is empty");

        string full = Path.GetFullPath(mountPoint);
        if (!Path.Exists(full)) throw new FuseMountException($"mountpoint {mountPoint} does not exist");
        if (!Directory.Exists(full)) throw new FuseMountException($"mountpoint {mountPoint} is not a directory");
        full = Canonical(full);

        // mount(2) would happily stack on top of another mount; that hides the one below and is never what was meant.
        if (MountTable.FileSystemAt(full) is { } type)
            throw new FuseMountException($"mountpoint {mountPoint} is busy: a {type} file system is already mounted there (EBUSY)");
        try
        {
            if (Directory.EnumerateFileSystemEntries(full).Any())
                throw new FuseMountException($"mountpoint {mountPoint} is not empty (EBUSY): mounting would hide its files");
        }
        catch (UnauthorizedAccessException)
        {
            throw new FuseMountException($"permission denied: cannot read mountpoint {mountPoint}");
        }
        return full;
    }

    /// <summary>realpath(3): /proc/self/mountinfo lists mount points with every symlink resolved.</summary>
    private static string Canonical(string path)
    {
        nint resolved = Libc.RealPath(path, 0);
        if (resolved == 0) return path;
        try
        {
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved) ?? path;
        }
        finally
        {
            Libc.Free(resolved);
        }
    }
}
