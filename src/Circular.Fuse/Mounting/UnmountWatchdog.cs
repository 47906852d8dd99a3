using System.Diagnostics;

namespace Circular.Fuse.Mounting;

/// <summary>
/// SIGKILL cannot be caught, and a FUSE server that dies leaves a dead mount ("Transport endpoint is not
/// connected"). So at mount time we start a tiny shell in its own session (Ctrl-C to our process group does not
/// reach it) that blocks reading a pipe from us. The kernel closes our end however we die; on that EOF the shell
/// lazily unmounts. A clean unmount first writes a line, which tells the shell to exit without touching anything,
/// so it never unmounts a later mount at the same path.
/// </summary>
internal sealed class UnmountWatchdog
{
    // $1 is the mountpoint, $2 the same path escaped as /proc/mounts writes it.
    private const string Script = """
        exec >/dev/null 2>&1
        if read -r _; then exit 0; fi
        grep -qF -- " $2 fuse" /proc/self/mounts || exit 0
        umount -l -- "$1" || fusermount3 -u -z -- "$1"
        """;

    private readonly Process _process;
    private int _disarmed;

    private UnmountWatchdog(Process process) => _process = process;

    public int ProcessId => _process.Id;

    public static UnmountWatchdog? Start(string mountPoint, Microsoft.Extensions.Logging.ILogger log)
    {
        try
        {
            string? setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);
            var start = new ProcessStartInfo(setsid ?? "/bin/sh") {
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = "/", // never keep a directory of ours busy
            };
            if (setsid is not null) start.ArgumentList.Add("/bin/sh");
            foreach (var arg in new[] { "-c", Script, "circular-fuse-watchdog", mountPoint, MountTable.Escape(mountPoint) })
                start.ArgumentList.Add(arg);
            var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
            return new UnmountWatchdog(process);
        }
        catch (Exception e)
        {
            // The mount still works; only a SIGKILL would now leave it dead.
            log.NoWatchdog(e.Message, mountPoint);
            return null;
        }
    }

    /// <summary>Tells the watchdog we unmounted ourselves; it exits without unmounting.</summary>
    public void Disarm()
    {
        if (Interlocked.Exchange(ref _disarmed, 1) != 0) return;
        try
        {
            _process.StandardInput.WriteLine("disarm");
            _process.StandardInput.Close();
            _process.WaitForExit(2000);
        }
        catch (Exception)
        {
            // Already gone (EPIPE): nothing left to disarm.
        }
        finally
        {
            _process.Dispose();
        }
    }
}
