using System.Diagnostics;
using Circular.Fuse.Native;

namespace Circular.Fuse.Mounting;

/// <summary>
/// The non-root path used by libfuse, go-fuse and fuser: the setuid fusermount3 mounts for us and hands back the
/// /dev/fuse fd over a socketpair (_FUSE_COMMFD, SCM_RIGHTS). Unmounting also goes through it.
/// </summary>
internal static unsafe class FusermountMounter
{
    public static int Mount(MountRequest request)
    {
        string fusermount = Find() ?? throw new FuseMountException(
            "permission denied: mounting FUSE without root needs fusermount3 (install fuse3)");
        int* pair = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM, 0, pair) != 0)
            throw new FuseMountException($"socketpair failed: {Libc.Describe(Libc.LastError)}");
        // Our end is close-on-exec; the other end must survive exec into fusermount3, which is why neither end
        // was created with SOCK_CLOEXEC.
        Libc.Fcntl(pair[0], Libc.F_SETFD, Libc.FD_CLOEXEC);
        try
        {
            var start = new ProcessStartInfo(fusermount) {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            string options = $"fsname={MountRequest.Source},subtype={MountRequest.SubType},{request.CommonOptions}" + (request.Writable ? "" : ",ro");
            foreach (var arg in new[] { "-o", options, "--", request.MountPoint }) start.ArgumentList.Add(arg);
            start.Environment["_FUSE_COMMFD"] = pair[1].ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var process = Process.Start(start) ?? throw new FuseMountException("cannot start fusermount3");
            Libc.Close(pair[1]);
            pair[1] = -1;
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            int fd = ReceiveFd(pair[0]);
            if (process.ExitCode == 0 && fd >= 0)
            {
                // The fd arrives without our flags; keep it out of child processes.
                Libc.Fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC);
                return fd;
            }
            if (fd >= 0) Libc.Close(fd);
            string reason = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? $"exit code {process.ExitCode}";
            throw new FuseMountException(reason.Contains("ermission", StringComparison.Ordinal) || reason.Contains("access", StringComparison.Ordinal)
                ? $"permission denied mounting {request.MountPoint}: {reason}"
                : $"mounting {request.MountPoint} with fusermount3 failed: {reason}");
        }
        finally
        {
            Libc.Close(pair[0]);
            if (pair[1] >= 0) Libc.Close(pair[1]);
        }
    }

    /// <summary>fusermount3 -u -z: the lazy unmount an unprivileged user is allowed to do.</summary>
    public static int Detach(string mountPoint)
    {
        string? fusermount = Find();
        if (fusermount is null) return Errno.ENOENT;
        var start = new ProcessStartInfo(fusermount) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-u", "-z", "--", mountPoint }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start);
        if (process is null) return Errno.EIO;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? 0 : Errno.EINVAL;
    }

    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/bin").Append("/bin"))
        {
            string candidate = Path.Combine(dir, "fusermount3");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static int ReceiveFd(int socket)
    {
        byte data;
        var iov = new Libc.IoVec { Base = &data, Length = 1 };
        // CMSG_SPACE(sizeof(int)) is 24 on 64-bit; 64 leaves room for a padded header.
        byte* control = stackalloc byte[64];
        var message = new Libc.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
        nint n;
        do n = Libc.RecvMsg(socket, &message, 0);
        while (n < 0 && Libc.LastError == Errno.EINTR);
        if (n <= 0 || message.ControlLen < (nuint)sizeof(Libc.CMsgHdr) + sizeof(int)) return -1;
        var header = (Libc.CMsgHdr*)control;
        if (header->Level != Libc.SOL_SOCKET || header->Type != Libc.SCM_RIGHTS) return -1;
        return *(int*)(control + sizeof(Libc.CMsgHdr));
    }
}
