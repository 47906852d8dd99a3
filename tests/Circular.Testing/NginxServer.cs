using System.Diagnostics;

namespace Circular.Testing;

/// <summary>
/// A private nginx (Debian package) serving one directory as plain static files on a loopback port, with its
/// own configuration, logs and pid file in a temporary directory. A missing nginx fails the test, never skips it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NginxServer : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private NginxServer(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }
    public Uri Url => new($"http://127.0.0.1:{Port}/");

    /// <summary>Lines of the access log so far ("METHOD PATH STATUS BYTES").</summary>
    public IReadOnlyList<string> AccessLog =>
        File.Exists(Path.Combine(_dir, "access.log")) ? File.ReadAllLines(Path.Combine(_dir, "access.log")) : [];

    /// <summary>Starts nginx on a free port; tries a few ports, since a port found free can be taken before nginx binds it.</summary>
    public static async Task<NginxServer> StartAsync(string root)
    {
        Scratch.MakeReadable(root);
        string? failure = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var (server, error) = await TryStartAsync(root);
            if (server is not null) return server;
            failure = error;
        }
        throw new Xunit.Sdk.XunitException(failure);
    }

    private static async Task<(NginxServer? Server, string Error)> TryStartAsync(string root)
    {
        string dir = Scratch.NewReadableDir("circ-nginx-");
        int port = Ports.Free();
        string conf = Path.Combine(dir, "nginx.conf");
        // user root: workers must read the test's files; the directive is ignored (with a notice) when not root.
        File.WriteAllText(conf, $$"""
            user root;
            worker_processes 1;
            daemon off;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log;
            events { worker_connections 512; }
            http {
              log_format short '$request_method $uri $status $body_bytes_sent';
              access_log {{dir}}/access.log short;
              client_body_temp_path {{dir}}/body;
              proxy_temp_path {{dir}}/proxy;
              fastcgi_temp_path {{dir}}/fastcgi;
              uwsgi_temp_path {{dir}}/uwsgi;
              scgi_temp_path {{dir}}/scgi;
              default_type application/octet-stream;
              sendfile on;
              server {
                listen 127.0.0.1:{{port}};
                root {{root}};
                location = /.circular-probe { access_log off; return 404; }
                location ~ /\. { return 404; }
              }
            }
            """);
        var psi = new ProcessStartInfo(Tools.Locate("nginx")) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-p", dir, "-c", conf, "-e", Path.Combine(dir, "error.log") }) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        var server = new NginxServer(p, dir, port);
        if (await Ports.WaitListeningAsync(port, TimeSpan.FromSeconds(10), () => p.HasExited) && await AnswersAsync(server))
            return (server, "");
        string log = File.Exists(Path.Combine(dir, "error.log")) ? File.ReadAllText(Path.Combine(dir, "error.log")) : "";
        server.Dispose();
        string err = stderr.IsCompleted ? await stderr : "";
        return (null, $"nginx did not start on port {port}: {log} {err}".Trim());
    }

    /// <summary>
    /// Whether this nginx answers on its port. Something listening is not enough: when another process takes the port
    /// first, nginx exits on its failed bind a moment later and a test's requests would go to the other listener.
    /// </summary>
    private static async Task<bool> AnswersAsync(NginxServer server)
    {
        // No proxy from the environment: the probe asks this port directly.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        for (int attempt = 0; attempt < 5 && !server._process.HasExited; attempt++)
        {
            try
            {
                // The probe's path answers 404, kept out of the access log that tests count; the Server header names nginx.
                using var resp = await http.GetAsync(new Uri(server.Url, ".circular-probe"));
                return resp.Headers.Server.Any(s => s.Product?.Name == "nginx") && !server._process.HasExited;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }
        return false;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        Scratch.Delete(_dir);
    }
}
