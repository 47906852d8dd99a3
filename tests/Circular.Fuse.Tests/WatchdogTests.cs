using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

/// <summary>
/// A mounting process that dies must not leave a dead mount ("Transport endpoint is not connected").
/// The mount runs in a child process (this assembly's Main in helper mode) so the test can kill it.
/// </summary>
public sealed class WatchdogTests
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(10);

    [Fact]
    public void Kill_9_of_the_mounting_process_leaves_no_dead_mount()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        using var helper = MountHelper.Start(mnt);

        Assert.True(Mounts.IsFuse(mnt));
        Assert.Contains("latest.img", Tools.Run("ls", Path.Combine(mnt, "os")));

        helper.Kill(); // SIGKILL: nothing in the process gets to run
        helper.WaitForExit();

        Timed.WaitUntil(() => !Mounts.IsFuse(mnt), Recovery, "the watchdog to unmount");
        var ls = Tools.Try("ls", "-la", mnt);
        Assert.True(ls.Code == 0, $"ls after kill -9: {ls.Err}");
        Assert.DoesNotContain("Transport endpoint", ls.Err);
    }

    [Fact]
    public void Sigterm_unmounts_cleanly()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        using var helper = MountHelper.Start(mnt, "signals");

        Tools.Run("kill", "-TERM", helper.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(helper.WaitForExit(Recovery), "helper did not exit after SIGTERM");
        Assert.Equal(0, helper.ExitCode); // UnmountOnSignals let Completion finish and Main return
        Assert.False(Mounts.IsFuse(mnt));
        Tools.Run("ls", mnt);
    }

    [Fact]
    public void Sigterm_without_a_handler_still_unmounts()
    {
        using var temp = new Scratch();
        string mnt = temp.NewDir("mnt");
        using var helper = MountHelper.Start(mnt);

        Tools.Run("kill", "-TERM", helper.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(helper.WaitForExit(Recovery), "helper did not exit after SIGTERM");
        Timed.WaitUntil(() => !Mounts.IsFuse(mnt), Recovery, "the mount to go");
        Tools.Run("ls", mnt);
    }
}
