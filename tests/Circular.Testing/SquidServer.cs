using System.Diagnostics;

namespace Circular.Testing;

/// <summary>
/// A private Squid (Debian package squid) on a loopback port, caching in memory, with its own configuration and logs:
/// a site proxy clients reach through HTTP_PROXY. A missing squid fails the test, never skips it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SquidServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private SquidServer(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }
    public string ProxyUrl => $"http://127.0.0.1:{Port}";

    /// <summary>Lines of Squid's access log so far (native format: "... TCP_MISS/200 BYTES GET URL ...").</summary>
    public IReadOnlyList<string> AccessLog => File.Exists(Path.Combine(_dir, "access.log")) ? File.ReadAllLines(Path.Combine(_dir, "access.log")) : [];

    public static async Task<SquidServer> StartAsync()
    {
        string? failure = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string dir = Scratch.NewReadableDir("circ-squid-");
            // Squid's workers run as the unprivileged user 'proxy', which must write the logs here.
            File.SetUnixFileMode(dir, (UnixFileMode)0x1ff);
            int port = Ports.Free();
            string conf = Path.Combine(dir, "squid.conf");
            File.WriteAllText(conf, $"""
                http_port 127.0.0.1:{port}
                acl lo src 127.0.0.1/32
                http_access allow lo
                http_access deny all
                cache_mem 256 MB
                maximum_object_size_in_memory 8 MB
                maximum_object_size 8 MB
                pid_filename {dir}/squid.pid
                access_log {dir}/access.log
                cache_log {dir}/cache.log
                cache_store_log none
                coredump_dir {dir}
                shutdown_lifetime 0 seconds
                """);
            var psi = new ProcessStartInfo(Tools.Locate("squid")) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-f", conf, "-N" }) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            _ = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            if (await Ports.WaitListeningAsync(port, TimeSpan.FromSeconds(30), () => p.HasExited) && !p.HasExited)
                return new SquidServer(p, dir, port);
            string log = File.Exists(Path.Combine(dir, "cache.log")) ? File.ReadAllText(Path.Combine(dir, "cache.log")) : "";
            failure = $"squid did not start on port {port}: {log}";
            try { p.Kill(); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        throw new Xunit.Sdk.XunitException(failure);
    }

    public ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(5000);
        _process.Dispose();
        Scratch.Delete(_dir);
        return ValueTask.CompletedTask;
    }
}
