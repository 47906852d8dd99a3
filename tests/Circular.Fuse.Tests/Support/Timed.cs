using System.Diagnostics;

namespace Circular.Fuse.Tests.Support;

/// <summary>File system calls and waits that fail the test, instead of hanging it, when the server under test is broken.</summary>
internal static class Timed
{
    /// <summary>Runs a file system call that could hang if the server were broken, failing the test instead.</summary>
    public static T Bounded<T>(Func<T> action, int seconds = 30)
    {
        var task = Task.Factory.StartNew(action, TaskCreationOptions.LongRunning);
        Assert.True(((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(seconds)), $"file system call did not finish within {seconds} s");
        return task.GetAwaiter().GetResult(); // the exception itself, not an AggregateException
    }

    public static void Bounded(Action action, int seconds = 30) => Bounded(() => { action(); return 0; }, seconds);

    /// <summary>Polls until the condition holds, failing after the timeout.</summary>
    public static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out after {timeout.TotalSeconds} s waiting for {what}");
            Thread.Sleep(100);
        }
    }
}
