using System.Diagnostics;

namespace Circular.Nbd.Tests.Support;

/// <summary>
/// Runs a real NBD client (qemu-img, qemu-io, nbdinfo, nbdcopy). A missing tool fails the test, naming the
/// package to install: the point of these tests is that real clients work, so skipping would hide a gap.
/// </summary>
public static class Tool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    public static async Task<Result> RunAsync(string tool, string package, IEnumerable<string> args, int timeoutSeconds = 60)
    {
        string path = Find(tool) ?? throw new Xunit.Sdk.XunitException($"{tool} is not installed: apt-get install {package}");
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public static async Task<Result> RunOkAsync(string tool, string package, params string[] args)
    {
        Result result = await RunAsync(tool, package, args);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed: {result}");
        return result;
    }

    private static string? Find(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
