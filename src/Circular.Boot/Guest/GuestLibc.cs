using System.Runtime.InteropServices;

namespace Circular.Boot.Guest;

/// <summary>
/// The few libc calls the booting machine's client makes on file descriptors .NET does not wrap (the kernel's random
/// pool, the pipe /init waits on). The guest build binds them at link time (DirectPInvoke), so calling one hashes no
/// string: see <see cref="RandomSeed"/>.
/// </summary>
internal static partial class GuestLibc
{
    public const int OpenWriteOnly = 1, OpenCloseOnExec = 0x80000;
    public const int SetDescriptorFlags = 2, CloseOnExec = 1;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "write")]
    public static partial nint Write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "ioctl")]
    public static partial int Ioctl(int fd, nuint request, byte[] argument);

    [LibraryImport("libc", EntryPoint = "fcntl")]
    public static partial int Fcntl(int fd, int command, int argument);
}
