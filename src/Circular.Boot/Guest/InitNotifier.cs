using System.Text;

namespace Circular.Boot.Guest;

/// <summary>
/// The pipe the initramfs's /init blocks on while this client works: its write end, inherited as a file descriptor,
/// gets one line ("ready" or "failed") when the status files are written, and reaches end of file if this process
/// dies first. /init used to poll the status files ten times a second, and each poll forked a sleep: 0.6 s of an
/// emulated boot's CPU taken from the client it waited for.
/// </summary>
public static class InitNotifier
{
    /// <summary>Keeps <paramref name="fd"/> from the programs this process starts (a long-lived one would hold it open).</summary>
    public static void Keep(int fd) => _ = GuestLibc.Fcntl(fd, GuestLibc.SetDescriptorFlags, GuestLibc.CloseOnExec);

    /// <summary>Writes <paramref name="word"/> and a newline, then closes the descriptor; an already closed one is ignored.</summary>
    public static void Signal(int fd, string word)
    {
        byte[] line = Encoding.ASCII.GetBytes(word + "\n");
        _ = GuestLibc.Write(fd, line, line.Length);
        _ = GuestLibc.Close(fd);
    }
}
