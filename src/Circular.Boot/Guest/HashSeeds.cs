namespace Circular.Boot.Guest;

/// <summary>
/// The runtime's hash seeds (string hashing's Marvin seed, HashCode's and Random's), drawn without waiting for the
/// kernel's random pool. .NET reads them from /dev/urandom, and a Linux kernel (5.18+) whose pool is not initialised
/// answers that read only after spinning on timer jitter until it is: about a second of CPU on a machine without
/// RDRAND (QEMU's default CPU under TCG), paid by every boot that had no seed to credit (<see cref="RandomSeed"/>: a new
/// seed disk's first boot, any diskless boot). The kernel stops spinning when a signal is pending and answers from the
/// pool as it is (what getrandom's GRND_INSECURE gives), which is all these seeds are for: they make hash tables hard
/// to flood, they are no keys. So they are drawn first thing, under a timer whose signal cuts the spin short; anything
/// cryptographic read later (the next boot's seed, a TLS handshake) waits for the pool as before.
/// </summary>
public static class HashSeeds
{
    /// <summary>How often the timer interrupts the spin (a read takes at most about this long).</summary>
    private const long IntervalNanoseconds = 5_000_000;
    private const nint IgnoreSignal = 1; // SIG_IGN

    /// <summary>Whether the kernel's random pool is initialised (getrandom would not wait).</summary>
    public static unsafe bool PoolReady()
    {
        byte b;
        return GuestLibc.GetRandom(&b, 1, GuestLibc.RandomNonBlocking) == 1;
    }

    /// <summary>
    /// Draws the seeds now, without waiting, when the pool is not initialised; true when it did. Must run before
    /// anything in the process hashes a string.
    /// </summary>
    public static bool DrawEarly() => !PoolReady() && DrawUnderTimer();

    /// <summary>
    /// Draws the seeds with a periodic SIGALRM aimed at this thread, then removes the timer and restores the signal's
    /// disposition; false (nothing drawn) when the timer or its handler could not be set up.
    /// </summary>
    public static unsafe bool DrawUnderTimer()
    {
        // The signal only has to be pending, so its handler does nothing; it must be native code, since it may run
        // at any point of this thread, managed code included. libc's abs(int) is such a function.
        nint handler;
        fixed (byte* name = "abs"u8) handler = GuestLibc.Symbol(0, name);
        if (handler == 0) return false;
        var action = new GuestLibc.SignalAction { Handler = handler, Flags = GuestLibc.SignalRestart };
        GuestLibc.SignalAction old;
        if (GuestLibc.SigAction(GuestLibc.SignalAlarm, &action, &old) != 0) return false;
        nint timer = 0;
        bool created = false; // 0 is a valid timer id
        try
        {
            var when = new GuestLibc.SignalEvent { Signal = GuestLibc.SignalAlarm, Notify = GuestLibc.SignalEventThreadId, ThreadId = GuestLibc.GetThreadId() };
            if (GuestLibc.TimerCreate(GuestLibc.ClockMonotonic, &when, &timer) != 0) return false;
            created = true;
            var every = new GuestLibc.TimerSpec { IntervalNanoseconds = IntervalNanoseconds, FirstNanoseconds = IntervalNanoseconds };
            if (GuestLibc.TimerSetTime(timer, 0, &every, null) != 0) return false;
            _ = "circular".GetHashCode(StringComparison.Ordinal);
            _ = HashCode.Combine(0);
            _ = Random.Shared.Next();
            return true;
        }
        finally
        {
            if (created) GuestLibc.TimerDelete(timer);
            // SIG_IGN first: it drops a signal the timer left pending, which the old disposition (SIG_DFL: terminate)
            // would otherwise act on.
            var ignore = new GuestLibc.SignalAction { Handler = IgnoreSignal };
            GuestLibc.SigAction(GuestLibc.SignalAlarm, &ignore, null);
            GuestLibc.SigAction(GuestLibc.SignalAlarm, &old, null);
        }
    }
}
