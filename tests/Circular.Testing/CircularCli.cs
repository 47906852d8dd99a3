using System.Diagnostics;

namespace Circular.Testing;

/// <summary>
/// Runs the real `circular` as a child process, the way a user does: $CIRCULAR when set (scripts/test.sh points it at
/// the native build users get), else `dotnet circular.dll` from beside the test assembly.
/// </summary>
public static class CircularCli
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Program and leading arguments, before the command's own.</summary>
    private static string[] Command =>
        Environment.GetEnvironmentVariable("CIRCULAR") is { Length: > 0 } bin ? [bin] : [DotnetHost, Path.Combine(AppContext.BaseDirectory, "circular.dll")];

    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p : "dotnet";

    /// <summary>
    /// The command line `env --default-signal=INT,HUP CIRCULAR ARGS`, with <paramref name="environment"/> added. A test
    /// runner started in the background has SIGINT ignored (under nohup SIGHUP too) and children inherit that; env
    /// execs `circular` (same pid) with both at their default disposition, as at a terminal, so a test's Ctrl-C or
    /// hang-up reaches it.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        ChildProcess.StartInfo("env", ["--default-signal=INT,HUP", .. Command, .. args],
            [new("DOTNET_CLI_TELEMETRY_OPTOUT", "1"), new("XDG_DATA_HOME", s_dataHome.Value),
             .. environment ?? new Dictionary<string, string>()]);

    /// <summary>
    /// Trust state (pinned keys, seen serials) of this test process's own, unless a test gives XDG_DATA_HOME: in the user's
    /// ~/.local/share a key pinned for http://127.0.0.1:PORT by one test (or an earlier run) made a later test that got
    /// the same port refuse its unsigned archive.
    /// </summary>
    private static readonly Lazy<string> s_dataHome = new(() => Directory.CreateTempSubdirectory("circ-test-data-").FullName);

    public static Task<RunResult> RunAsync(params string[] args) => RunAsync(DefaultTimeout, null, args);

    public static Task<RunResult> RunAsync(TimeSpan timeout, params string[] args) => RunAsync(timeout, null, args);

    /// <summary>Runs with extra environment variables (say, XDG_DATA_HOME for a private trust store).</summary>
    public static Task<RunResult> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunAsync(DefaultTimeout, environment, args);

    /// <summary>Runs `circular ARGS` to its end; fails the test if it takes longer than <paramref name="timeout"/>.</summary>
    public static Task<RunResult> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ChildProcess.RunAsync(StartInfo(args, environment), Describe(args), timeout);

    /// <summary>Starts a long-running command (serve, nbd, mount) in the background.</summary>
    public static BackgroundProcess Start(params string[] args) => Start(null, args);

    public static BackgroundProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        BackgroundProcess.Start(StartInfo(args, environment), Describe(args));

    /// <summary>Starts a long-running command and waits until its stdout shows <paramref name="readyText"/>.</summary>
    public static Task<BackgroundProcess> StartAsync(string readyText, params string[] args) => StartAsync(readyText, null, args);

    public static async Task<BackgroundProcess> StartAsync(string readyText, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var process = Start(environment, args);
        try
        {
            await process.WaitForOutputAsync(readyText, TimeSpan.FromSeconds(30));
            return process;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>`circular serve DIR` on a free loopback port, once it accepts connections.</summary>
    public static async Task<(BackgroundProcess Server, Uri Url)> ServeAsync(string dir, IReadOnlyDictionary<string, string>? environment = null)
    {
        // Its "serving" line, not something listening on the port, shows that this server bound it: a port found free can
        // be taken by another process first, and then serve exits ("cannot listen") and is started on another port.
        for (int attempt = 1; ; attempt++)
        {
            int port = Ports.Free();
            try { return (await StartAsync("serving ", environment, "serve", dir, "--listen", $"127.0.0.1:{port}"), new Uri($"http://127.0.0.1:{port}")); }
            catch (Xunit.Sdk.XunitException e) when (attempt < 3 && e.Message.Contains("cannot listen", StringComparison.Ordinal)) { }
        }
    }

    private static string Describe(string[] args) => "circular " + string.Join(' ', args);
}
