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

    public const uint RandomNonBlocking = 1; // GRND_NONBLOCK
    public const int SignalAlarm = 14, SignalEventThreadId = 4, ClockMonotonic = 1, SignalRestart = 0x10000000;

    /// <summary>getrandom(2): with <see cref="RandomNonBlocking"/>, -1 (EAGAIN) while the kernel's pool is not initialised.</summary>
    [LibraryImport("libc", EntryPoint = "getrandom")]
    public static unsafe partial nint GetRandom(byte* buffer, nuint count, uint flags);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetThreadId();

    [LibraryImport("libc", EntryPoint = "timer_create")]
    public static unsafe partial int TimerCreate(int clock, SignalEvent* evp, nint* timer);

    [LibraryImport("libc", EntryPoint = "timer_settime")]
    public static unsafe partial int TimerSetTime(nint timer, int flags, TimerSpec* value, TimerSpec* old);

    [LibraryImport("libc", EntryPoint = "timer_delete")]
    public static partial int TimerDelete(nint timer);

    [LibraryImport("libc", EntryPoint = "sigaction")]
    public static unsafe partial int SigAction(int signal, SignalAction* action, SignalAction* old);

    /// <summary>dlsym(RTLD_DEFAULT, NAME): the address of a libc function.</summary>
    [LibraryImport("libc", EntryPoint = "dlsym")]
    public static unsafe partial nint Symbol(nint handle, byte* name);

    /// <summary>struct sigevent (x86-64 and arm64: 64 bytes; the thread id of SIGEV_THREAD_ID at offset 16).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct SignalEvent
    {
        [FieldOffset(8)] public int Signal;
        [FieldOffset(12)] public int Notify;
        [FieldOffset(16)] public int ThreadId;
    }

    /// <summary>struct itimerspec: the interval, then the first expiry.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimerSpec
    {
        public long IntervalSeconds, IntervalNanoseconds, FirstSeconds, FirstNanoseconds;
    }

    /// <summary>glibc's struct sigaction (x86-64 and arm64): handler, 128-byte mask, flags, restorer (glibc fills it).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 152)]
    public struct SignalAction
    {
        [FieldOffset(0)] public nint Handler;
        [FieldOffset(136)] public int Flags;
    }
}
