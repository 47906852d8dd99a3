using System.Diagnostics;

namespace Circular.Cli.Tests.Support;

/// <summary>What a finished `circular` process printed and returned.</summary>
public sealed record CliResult(int Code, string Out, string Err)
{
    public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public CliResult Ok()
    {
        if (Code != 0) throw new Xunit.Sdk.XunitException($"circular exited {Code}\nstdout: {Out}\nstderr: {Err}");
        return this;
    }
}

/// <summary>Runs the real `circular` command (the circular.dll copied next to this test assembly) as a child process.</summary>
public static class CliProcess
{
    /// <summary>What runs: see <see cref="Circular.Tests.Shared.CircularCommand"/>.</summary>
    public static string[] Command => Circular.Tests.Shared.CircularCommand.Argv;

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo(Command[0]) {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var c in Command[1..]) psi.ArgumentList.Add(c);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return psi;
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Runs with extra environment variables (e.g. XDG_DATA_HOME for a private trust store).</summary>
    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = StartInfo(args);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try { await p.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"circular {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a command without waiting (for kill and concurrency tests). Output is discarded.</summary>
    public static Process Start(params string[] args)
    {
        var psi = StartInfo(args);
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        return p;
    }
}
