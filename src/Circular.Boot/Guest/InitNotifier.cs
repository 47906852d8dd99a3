using System.Runtime.InteropServices;
using System.Text;

namespace Circular.Boot.Guest;

/// <summary>
/// The pipe the initramfs's /init blocks on while this client works: its write end, inherited as a file descriptor,
/// gets one line ("ready" or "failed") when the status files are written, and reaches end of file if this process
/// dies first. /init used to poll the status files ten times a second, and each poll forked a sleep: 0.6 s of an
/// emulated boot's CPU taken from the client it waited for.
/// </summary>
public static partial class InitNotifier
{
    private const int SetDescriptorFlags = 2, CloseOnExec = 1;

    /// <summary>Keeps <paramref name="fd"/> from the programs this process starts (a long-lived one would hold it open).</summary>
    public static void Keep(int fd) => _ = Fcntl(fd, SetDescriptorFlags, CloseOnExec);

    /// <summary>Writes <paramref name="word"/> and a newline, then closes the descriptor; an already closed one is ignored.</summary>
    public static void Signal(int fd, string word)
    {
        byte[] line = Encoding.ASCII.GetBytes(word + "\n");
        _ = Write(fd, line, line.Length);
        _ = Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "write")]
    private static partial nint Write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
