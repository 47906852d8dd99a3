using System.CommandLine;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Circular.Core.Errors;
using Circular.Server.Hosting;

namespace Circular.Cli.Commands;

public static class ServeCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var listen = new Option<string>("--listen") { Description = "HOST:PORT to serve HTTP/1.1 on (and HTTP/2 when --tls-cert is given)", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var h2c = new Option<string?>("--listen-h2c") { Description = "HOST:PORT for cleartext HTTP/2 with prior knowledge (curl --http2-prior-knowledge)" };
        var cert = new Option<string?>("--tls-cert") { Description = "PEM certificate: serve HTTPS, HTTP/2 negotiated by ALPN" };
        var key = new Option<string?>("--tls-key") { Description = "PEM private key for --tls-cert" };
        var cmd = new Command("serve",
            "Serve an archive over HTTP: its files with range and cache headers, each version as /images/NAME/VERSION.img, a catalog at / and JSON at /api/images, " +
            "and network boot (boot/NAME/VERSION.ipxe, latest.ipxe, TAG.ipxe with their kernel and the Circular initramfs) made on request")
            { archive, listen, h2c, cert, key };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var endpoint = ParseEndpoint(pr.GetValue(listen)!);
            string root = pr.GetValue(archive)!;
            var backend = Composition.ArchiveStores.OpenReadBackend(pr, root);
            if (backend is null && !Directory.Exists(root)) throw new NotFoundException($"{root} is not a Circular archive (no such directory)");
            var options = new ServerOptions(endpoint) {
                H2cListen = pr.GetValue(h2c) is { } h ? ParseEndpoint(h) : null,
                TlsCertificate = pr.GetValue(cert) is { } c ? LoadCertificate(c, pr.GetValue(key)) : null,
                Netboot = NetbootServing(),
                Log = Console.ConsoleLog.Instance,
            };
            await using var server = await StartOrExplainAsync(root, backend, options, ct);
            System.Console.WriteLine($"serving {(backend is null ? Path.GetFullPath(root) : root)} on {string.Join(", ", server.Addresses)} (Ctrl-C stops)");
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { }
            return CommandAction.Ok;
        });
        return cmd;
    }

    /// <summary>boot/ answered on the fly with this build's in-guest circular; not from a JIT run, which has none to carry.</summary>
    private static Server.Boot.NetbootServing? NetbootServing()
    {
        try { return new(new Circular.Boot.Initramfs.InitramfsOptions { ModuleTree = "", Circular = InitramfsCommand.GuestExecutable() }); }
        catch (UsageException) { return null; }
    }

    private static async Task<ArchiveServer> StartOrExplainAsync(string root, Storage.Backends.IArchiveBackend? backend, ServerOptions options, CancellationToken ct)
    {
        try { return backend is null ? await ArchiveServer.StartAsync(root, options, ct) : await ArchiveServer.StartAsync(root, backend, options, ct); }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            throw new CircularException($"cannot listen on {options.Listen}: {e.Message}");
        }
    }

    private static X509Certificate2 LoadCertificate(string certPath, string? keyPath)
    {
        try { return keyPath is null ? X509Certificate2.CreateFromPemFile(certPath) : X509Certificate2.CreateFromPemFile(certPath, keyPath); }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new UsageException($"cannot load TLS certificate {certPath}: {e.Message}");
        }
    }

    public static IPEndPoint ParseEndpoint(string text)
    {
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port > 0) return ep;
        if (int.TryParse(text, out int port) && port is > 0 and < 65536) return new IPEndPoint(IPAddress.Loopback, port);
        int colon = text.LastIndexOf(':');
        if (colon > 0 && text[..colon] == "localhost" && int.TryParse(text[(colon + 1)..], out port)) return new IPEndPoint(IPAddress.Loopback, port);
        throw new UsageException($"--listen '{text}': expected HOST:PORT, e.g. 127.0.0.1:8080");
    }
}
