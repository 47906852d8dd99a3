using System.Runtime.InteropServices;
using Circular.Boot.Guest;

namespace Circular.Boot.Tests;

/// <summary>
/// HashSeeds: the runtime's hash seeds drawn under a timer signal that cuts short the kernel's wait for its pool. The
/// wait itself only happens in a booting machine (SeedDiskTests' first boot says it drew them early); here, on a host
/// whose pool is initialised, the timer's set-up and removal.
/// </summary>
public sealed partial class HashSeedsTests
{
    private const int SignalAlarm = 14;

    [Fact]
    public void A_host_pool_is_initialised_so_nothing_is_drawn_early()
    {
        Assert.True(HashSeeds.PoolReady());
        Assert.False(HashSeeds.DrawEarly());
    }

    [Fact]
    public void The_timer_and_its_handler_are_gone_afterwards()
    {
        nint before = AlarmHandler();
        int timers = PosixTimers();
        for (int i = 0; i < 20; i++) Assert.True(HashSeeds.DrawUnderTimer());
        // SIGALRM is back to what it was (SIG_DFL terminates: a timer left running, or a signal left pending, would
        // end this test process within the wait below).
        Assert.Equal(before, AlarmHandler());
        Assert.Equal(timers, PosixTimers());
        Thread.Sleep(100);
    }

    /// <summary>The process's POSIX timers (/proc/self/timers lists one "ID:" line each).</summary>
    private static int PosixTimers() =>
        File.Exists("/proc/self/timers") ? File.ReadLines("/proc/self/timers").Count(l => l.StartsWith("ID:", StringComparison.Ordinal)) : 0;

    private static unsafe nint AlarmHandler()
    {
        var old = new byte[152];
        fixed (byte* p = old) Assert.Equal(0, SigAction(SignalAlarm, null, p));
        return BitConverter.ToInt64(old, 0) is var h ? (nint)h : 0;
    }

    [LibraryImport("libc", EntryPoint = "sigaction")]
    private static unsafe partial int SigAction(int signal, byte* action, byte* old);
}
