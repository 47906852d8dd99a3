using System.Diagnostics;

namespace Circular.Testing;

/// <summary>Starting a child process with its standard streams redirected, and running one to its end.</summary>
internal static class ChildProcess
{
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args, IEnumerable<KeyValuePair<string, string>> environment)
    {
        var psi = new ProcessStartInfo(program) {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>
    /// Runs the process with stdin closed and collects its output; a process still running after
    /// <paramref name="timeout"/> is killed and fails the test. Never resumes on the caller's context, so callers may
    /// also wait for it synchronously.
    /// </summary>
    public static async Task<RunResult> RunAsync(ProcessStartInfo psi, string command, TimeSpan timeout)
    {
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            throw new Xunit.Sdk.XunitException($"{command} did not finish in {timeout.TotalSeconds} s\nstdout: {SoFar(stdout)}\nstderr: {SoFar(stderr)}");
        }
        return new RunResult(command, p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    private static string SoFar(Task<string> output) => output.IsCompletedSuccessfully ? output.Result : "(still open)";
}
