using System.Diagnostics;

namespace Circular.Trust.Tests.Support;

/// <summary>`circular nbd` on a Unix socket, stopped with SIGINT so it shuts down cleanly (closing its measurement log).</summary>
public sealed class NbdProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private NbdProcess(Process process, Task<string> stderr, string socket)
    {
        _process = process;
        _stderr = stderr;
        Socket = socket;
    }

    public string Socket { get; }

    public static async Task<NbdProcess> StartAsync(CliUser client, string socket, params string[] args)
    {
        var p = Process.Start(client.StartInfo(["nbd", .. args, "--socket", socket]))!;
        p.StandardInput.Close();
        _ = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            if (p.HasExited) throw new Xunit.Sdk.XunitException($"circular nbd exited {p.ExitCode}: {await err}");
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new Xunit.Sdk.XunitException("circular nbd did not listen in 30 s");
            await Task.Delay(50);
        }
        return new NbdProcess(p, err, socket);
    }

    public string Uri(string export) => $"nbd+unix:///{export}?socket={Socket}";

    /// <summary>Sends SIGINT and waits for a clean exit; returns the exit code and stderr.</summary>
    public async Task<(int Code, string Err)> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return (_process.ExitCode, await _stderr);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}

/// <summary>Runs an external tool and returns its stdout; fails the test with its stderr on a non-zero exit.</summary>
public static class Tool
{
    public static async Task<string> RunAsync(string tool, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} exited {p.ExitCode}: {await stderr}");
        return await stdout;
    }
}
