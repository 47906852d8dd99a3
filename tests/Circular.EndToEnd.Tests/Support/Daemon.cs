using System.Diagnostics;
using System.Text;

namespace Circular.EndToEnd.Tests.Support;

/// <summary>
/// A long-running `circular` process (nbd, mount, serve) with its output captured. Dispose kills it if it is
/// still running, so a failing test never leaves a server behind.
/// </summary>
public sealed class Daemon : IAsyncDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new(), _err = new();
    private readonly Task _pumps;

    private Daemon(Process p, string[] args)
    {
        _p = p;
        Args = args;
        _pumps = Task.WhenAll(Pump(p.StandardOutput, _out), Pump(p.StandardError, _err));
    }

    public string[] Args { get; }
    public int Pid => _p.Id;
    public bool HasExited => _p.HasExited;

    public string Out { get { lock (_out) return _out.ToString(); } }
    public string Err { get { lock (_err) return _err.ToString(); } }

    public static Daemon Start(params string[] args)
    {
        var p = Process.Start(CircularCli.StartInfo(args))!;
        p.StandardInput.Close();
        return new Daemon(p, args);
    }

    /// <summary>Starts the command and waits until stdout shows <paramref name="readyText"/>.</summary>
    public static async Task<Daemon> StartAsync(string readyText, params string[] args)
    {
        var d = Start(args);
        try
        {
            await d.WaitForOutputAsync(readyText, TimeSpan.FromSeconds(30));
            return d;
        }
        catch
        {
            await d.DisposeAsync();
            throw;
        }
    }

    private static async Task Pump(StreamReader reader, StringBuilder sink)
    {
        var buf = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buf)) > 0)
            lock (sink) sink.Append(buf, 0, n);
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Out.Contains(text, StringComparison.Ordinal))
        {
            if (_p.HasExited)
            {
                await _pumps;
                if (Out.Contains(text, StringComparison.Ordinal)) return;
                throw new Xunit.Sdk.XunitException($"{Describe()} exited {_p.ExitCode} before printing '{text}'\nstdout: {Out}\nstderr: {Err}");
            }
            if (clock.Elapsed > timeout)
                throw new Xunit.Sdk.XunitException($"{Describe()} did not print '{text}' in {timeout.TotalSeconds} s\nstdout: {Out}\nstderr: {Err}");
            await Task.Delay(50);
        }
    }

    public void Signal(string signal) => Tools.Run("kill", "-" + signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Waits for the process to end by itself (after a signal) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{Describe()} did not exit in {timeout.TotalSeconds} s\nstdout: {Out}\nstderr: {Err}");
        }
        await _pumps;
        return _p.ExitCode;
    }

    /// <summary>Sends a signal and expects the process to end cleanly (exit 0) within 15 s.</summary>
    public async Task StopAsync(string signal = "TERM")
    {
        Signal(signal);
        int code = await WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.True(code == 0, $"{Describe()} exited {code} after SIG{signal}\nstdout: {Out}\nstderr: {Err}");
    }

    private string Describe() => "circular " + string.Join(' ', Args);

    public async ValueTask DisposeAsync()
    {
        if (!_p.HasExited)
        {
            try { _p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _p.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
        }
        _p.Dispose();
    }
}
