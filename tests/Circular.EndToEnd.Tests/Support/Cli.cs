using System.Diagnostics;

namespace Circular.EndToEnd.Tests.Support;

/// <summary>What a finished process printed and returned.</summary>
public sealed record RunResult(string Command, int Code, string Out, string Err)
{
    public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public RunResult Ok()
    {
        if (Code != 0) throw new Xunit.Sdk.XunitException($"{Command} exited {Code}\nstdout: {Out}\nstderr: {Err}");
        return this;
    }

    /// <summary>A failure the way the CLI promises it: non-zero exit, the reason on one stderr line.</summary>
    public RunResult FailsWithOneLine(string expected)
    {
        Assert.True(Code != 0, $"{Command} should fail but exited 0\nstdout: {Out}\nstderr: {Err}");
        Assert.True(ErrLines.Length == 1, $"{Command}: expected one line on stderr, got:\n{Err}");
        Assert.Contains(expected, Err, StringComparison.Ordinal);
        return this;
    }
}

/// <summary>Runs the real `circular` command (circular.dll next to this assembly) the way a user would.</summary>
public static class CircularCli
{
    /// <summary>What runs: see <see cref="Circular.Tests.Shared.CircularCommand"/>.</summary>
    public static string[] Command => Circular.Tests.Shared.CircularCommand.Argv;

    /// <summary>
    /// The command line: `env --default-signal=INT dotnet circular.dll ARGS` (or $CIRCULAR ARGS). env execs dotnet (same pid) with
    /// SIGINT at its default disposition, as at a terminal, even when the test runner was started with it ignored.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("env") {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["--default-signal=INT", .. Command, .. args]) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return psi;
    }

    public static Task<RunResult> RunAsync(params string[] args) => RunAsync(TimeSpan.FromMinutes(2), args);

    public static async Task<RunResult> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var p = Process.Start(StartInfo(args))!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"circular {string.Join(' ', args)} did not finish in {timeout.TotalSeconds} s\n{await stdout}\n{await stderr}");
        }
        return new RunResult("circular " + string.Join(' ', args), p.ExitCode, await stdout, await stderr);
    }
}
