using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Circular.Testing;

/// <summary>
/// A long-running child process (`circular serve`, `nbd` or `mount`, swtpm, ...) with its output captured. A test
/// stops it with a signal and waits for it; dispose kills it if it is still running, so a failing test never leaves
/// a server behind.
/// </summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new(), _err = new();
    private readonly Task _pumps;

    private BackgroundProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        _pumps = Task.WhenAll(Pump(process.StandardOutput, _out), Pump(process.StandardError, _err));
    }

    /// <summary>Starts <paramref name="psi"/> (its output redirected, stdin closed); <paramref name="name"/> says what it is in failures.</summary>
    public static BackgroundProcess Start(ProcessStartInfo psi, string name)
    {
        psi.RedirectStandardOutput = psi.RedirectStandardError = psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        var process = Process.Start(psi)!;
        process.StandardInput.Close();
        return new BackgroundProcess(process, name);
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Out { get { lock (_out) return _out.ToString(); } }
    public string Err { get { lock (_err) return _err.ToString(); } }

    private static async Task Pump(StreamReader reader, StringBuilder sink)
    {
        var buf = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buf)) > 0)
            lock (sink) sink.Append(buf, 0, n);
    }

    /// <summary>Waits until stdout shows <paramref name="text"/>; fails the test if the process exits first or the time runs out.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Out.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                await DrainAsync();
                if (Out.Contains(text, StringComparison.Ordinal)) return;
                throw new Xunit.Sdk.XunitException($"{Name} exited {_process.ExitCode} before printing '{text}'\n{Output}");
            }
            if (clock.Elapsed > timeout)
                throw new Xunit.Sdk.XunitException($"{Name} did not print '{text}' in {timeout.TotalSeconds} s\n{Output}");
            await Task.Delay(50);
        }
    }

    /// <summary>Sends a signal by name: HUP (terminal closed), INT (Ctrl-C), TERM or KILL. A process that has exited already is left alone.</summary>
    public void Signal(string signal)
    {
        int number = signal switch {
            "HUP" => 1,
            "INT" => 2,
            "KILL" => 9,
            "TERM" => 15,
            _ => throw new ArgumentException($"no signal named {signal}", nameof(signal)),
        };
        if (!_process.HasExited && Kill(_process.Id, number) != 0 && !_process.HasExited)
            throw new Xunit.Sdk.XunitException($"kill -{signal} {Name} failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Waits for the process to end by itself (after a signal) and returns its exit code; fails the test after the timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{Name} did not exit in {timeout.TotalSeconds} s\n{Output}");
        }
        await DrainAsync();
        return _process.ExitCode;
    }

    /// <summary>Sends a signal and expects the process to end cleanly (exit 0) within 15 s.</summary>
    public async Task StopAsync(string signal = "TERM")
    {
        Signal(signal);
        int code = await WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.True(code == 0, $"{Name} exited {code} after SIG{signal}\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
        }
        await DrainAsync();
        _process.Dispose();
    }

    private string Output => $"stdout: {Out}\nstderr: {Err}";

    /// <summary>The rest of the output once the process has exited (bounded: a child it left behind may hold the pipes open).</summary>
    /// <summary>Waits (up to 10 s) for the output an exited process left in its pipes.</summary>
    public Task DrainAsync() => Task.WhenAny(_pumps, Task.Delay(TimeSpan.FromSeconds(10)));

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
