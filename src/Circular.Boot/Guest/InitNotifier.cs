using System.Text;

namespace Circular.Boot.Guest;

/// <summary>
/// The pipe the initramfs's /init blocks on while this client works: its write end, inherited as a file descriptor,
/// gets one line ("ready" or "failed") when the status files are written, and reaches end of file if this process
/// dies first. /init used to poll the status files ten times a second, and each poll forked a sleep: 0.6 s of an
/// emulated boot's CPU taken from the client it waited for.
/// </summary>
public sealed class InitNotifier
{
    private int _fd;

    /// <summary>Takes <paramref name="fd"/>, kept from the programs this process starts (a long-lived one would hold it open).</summary>
    public InitNotifier(int fd)
    {
        _fd = fd;
        _ = GuestLibc.Fcntl(fd, GuestLibc.SetDescriptorFlags, GuestLibc.CloseOnExec);
    }

    /// <summary>
    /// Writes <paramref name="word"/> and a newline, then closes the descriptor. Once only: after the close the number
    /// may name another file of this process (a socket, the NBD device's pair), which a second signal must not touch.
    /// </summary>
    public void Signal(string word)
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        byte[] line = Encoding.ASCII.GetBytes(word + "\n");
        _ = GuestLibc.Write(fd, line, line.Length);
        _ = GuestLibc.Close(fd);
    }
}
