using System.Diagnostics;

namespace Circular.Boot.Guest;

/// <summary>The result of a program the in-guest client ran.</summary>
public sealed record ProgramResult(int Code, string Output)
{
    public bool Ok => Code == 0;
}

/// <summary>Runs the initramfs's tools (busybox applets: modprobe, udhcpc, ip, mount) and collects what they print.</summary>
public static class Programs
{
    public static async Task<ProgramResult> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { return new ProgramResult(127, $"{program}: {e.Message}"); }
        using (p)
        {
            var output = p.StandardOutput.ReadToEndAsync(ct);
            var error = p.StandardError.ReadToEndAsync(ct);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            try { await p.WaitForExitAsync(deadline.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                return new ProgramResult(124, $"{program} did not finish within {timeout.TotalSeconds:0} s");
            }
            return new ProgramResult(p.ExitCode, ((await output.ConfigureAwait(false)) + (await error.ConfigureAwait(false))).Trim());
        }
    }

    public static Task<ProgramResult> RunAsync(string program, params string[] args) =>
        RunAsync(program, args, TimeSpan.FromSeconds(60), CancellationToken.None);

    /// <summary>True when <paramref name="tool"/> is in PATH (or in /usr/sbin, /sbin, which a user's PATH may lack).</summary>
    public static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/sbin").Any(d => File.Exists(Path.Combine(d, tool)));
}
