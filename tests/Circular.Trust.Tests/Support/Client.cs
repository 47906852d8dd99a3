using System.Diagnostics;

namespace Circular.Trust.Tests.Support;

/// <summary>What a finished `circular` process printed and returned.</summary>
public sealed record CliResult(int Code, string Out, string Err)
{
    public CliResult Ok()
    {
        if (Code != 0) throw new Xunit.Sdk.XunitException($"circular exited {Code}\nstdout: {Out}\nstderr: {Err}");
        return this;
    }

    /// <summary>Asserts a refusal: exit 1, one "circular: …" line containing <paramref name="reason"/>, nothing on stdout.</summary>
    public CliResult Refused(string reason)
    {
        if (Code != 1 || !Err.Contains(reason, StringComparison.Ordinal) || Out.Length != 0)
            throw new Xunit.Sdk.XunitException($"expected a refusal with '{reason}', got exit {Code}\nstdout: {Out}\nstderr: {Err}");
        return this;
    }
}

/// <summary>
/// Runs the real `circular` (circular.dll beside this assembly) as a child process. Each test client gets its own
/// XDG_DATA_HOME, so pinned keys and seen serials never leak between tests.
/// </summary>
public sealed class CliUser(string dataHome)
{
    public string DataHome { get; } = dataHome;
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>What runs: see <see cref="Circular.Tests.Shared.CircularCommand"/>.</summary>
    public static string[] Command => Circular.Tests.Shared.CircularCommand.Argv;

    public ProcessStartInfo StartInfo(params string[] args)
    {
        // Through env --default-signal=INT: a runner started in the background has SIGINT ignored, and children
        // inherit that, so the SIGINT that stops `circular nbd` (NbdProcess) would never arrive.
        var psi = new ProcessStartInfo("env") {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT");
        foreach (var c in Command) psi.ArgumentList.Add(c);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["XDG_DATA_HOME"] = DataHome;
        foreach (var (k, v) in Environment) psi.Environment[k] = v;
        return psi;
    }

    public async Task<CliResult> RunAsync(params string[] args)
    {
        using var p = Process.Start(StartInfo(args))!;
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
}
