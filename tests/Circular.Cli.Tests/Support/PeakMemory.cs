using System.Diagnostics;

namespace Circular.Cli.Tests.Support;

/// <summary>Runs `circular` and samples its peak resident memory (VmHWM) until it exits.</summary>
public static class PeakMemory
{
    public static async Task<(RunResult Result, long PeakBytes)> RunAsync(params string[] args)
    {
        using var p = Process.Start(CircularCli.StartInfo(args))!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        var clock = Stopwatch.StartNew();
        while (!p.HasExited)
        {
            peak = Math.Max(peak, HighWaterMark(p.Id));
            if (clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                p.Kill(entireProcessTree: true);
                throw new Xunit.Sdk.XunitException($"circular {string.Join(' ', args)} did not finish in 2 minutes (peak {peak >> 20} MiB)");
            }
            await Task.Delay(10);
        }
        await p.WaitForExitAsync();
        return (new RunResult("circular " + string.Join(' ', args), p.ExitCode, await stdout, await stderr), peak);
    }

    /// <summary>The process's peak resident set so far, from /proc (0 once it is gone).</summary>
    private static long HighWaterMark(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }
}
