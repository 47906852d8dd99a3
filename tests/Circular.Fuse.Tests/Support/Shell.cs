using System.Diagnostics;

namespace Circular.Fuse.Tests.Support;

/// <summary>Runs real tools (ls, stat, mount, mkfs.ext4, dd) with a timeout. A missing tool fails the test: CI must have them.</summary>
internal static class Shell
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public Result Ok(string what)
        {
            Assert.True(ExitCode == 0, $"{what} exited {ExitCode}: {Stderr.Trim()} {Stdout.Trim()}");
            return this;
        }
    }

    public static Result Run(string tool, params string[] args) => RunWithTimeout(DefaultTimeout, tool, args);

    public static Result RunWithTimeout(TimeSpan timeout, string tool, params string[] args)
    {
        string path = Require(tool);
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The tool's full path; fails (never skips) when it is not installed.</summary>
    public static string Require(string tool)
    {
        if (tool.Contains('/')) return tool;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"{tool} is not installed; these tests need e2fsprogs, fuse3 and util-linux");
        return "";
    }

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
