using Circular.Fuse.Native;

namespace Circular.Fuse.Mounting;

/// <summary>
/// The root path, as libfuse's fuse_mount_sys does it: open /dev/fuse, then mount(2) with the fd in the options.
/// The kernel queues FUSE INIT on the fd during mount(2); the server answers it once its readers start.
/// </summary>
internal static class KernelMounter
{
    public static int Mount(MountRequest request)
    {
        int fd = OpenDevice();
        try
        {
            string options = $"fd={fd},rootmode=40000,user_id={Libc.GetUid()},group_id={Libc.GetGid()},{request.CommonOptions}";
            ulong flags = Libc.MS_NOSUID | Libc.MS_NODEV | (request.Writable ? 0 : Libc.MS_RDONLY);
            int rc = Libc.Mount(MountRequest.Source, request.MountPoint, "fuse." + MountRequest.SubType, flags, options);
            // Kernels without subtype support answer ENODEV for "fuse.x"; plain "fuse" is the same file system.
            if (rc != 0 && Libc.LastError == Errno.ENODEV)
                rc = Libc.Mount(MountRequest.Source, request.MountPoint, "fuse", flags, options);
            if (rc != 0) throw Failure(request.MountPoint, Libc.LastError);
            return fd;
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    public static int OpenDevice()
    {
        int fd = Libc.Open(MountPointCheck.DevFuse, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd >= 0) return fd;
        int errno = Libc.LastError;
        throw errno switch {
            Errno.ENOENT or Errno.ENODEV => new FuseMountException($"{MountPointCheck.DevFuse} not found: install fuse3 or load the fuse module"),
            Errno.EACCES or Errno.EPERM => new FuseMountException($"permission denied opening {MountPointCheck.DevFuse}"),
            _ => new FuseMountException($"cannot open {MountPointCheck.DevFuse}: {Libc.Describe(errno)}"),
        };
    }

    /// <summary>Unmounts lazily: the mount leaves the namespace now, the connection ends when its last user closes.</summary>
    public static int Detach(string mountPoint) => Libc.Umount2(mountPoint, Libc.MNT_DETACH) == 0 ? 0 : Libc.LastError;

    private static FuseMountException Failure(string mountPoint, int errno) => errno switch {
        Errno.EBUSY => new FuseMountException($"mountpoint {mountPoint} is busy or already mounted (EBUSY)"),
        Errno.EPERM or Errno.EACCES => new FuseMountException($"permission denied mounting {mountPoint}: needs root (CAP_SYS_ADMIN) or fusermount3"),
        Errno.ENOENT => new FuseMountException($"mountpoint {mountPoint} does not exist"),
        Errno.ENOTDIR => new FuseMountException($"mountpoint {mountPoint} is not a directory"),
        Errno.ENODEV => new FuseMountException("the kernel has no FUSE support: load the fuse module"),
        _ => new FuseMountException($"mounting {mountPoint} failed: {Libc.Describe(errno)}"),
    };
}
