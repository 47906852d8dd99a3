using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>
/// `serve --tls-cert` read by the CLI client over HTTPS: HTTP/2 chosen by ALPN, the certificate checked against the
/// system's trust (SSL_CERT_FILE here), and the proxy environment (HTTP_PROXY, HTTPS_PROXY through CONNECT, NO_PROXY).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TlsAndProxyEnvironmentTests : IAsyncLifetime
{
    private readonly Scratch _s = new();
    private string _archive = "", _image = "", _cert = "", _key = "";
    private BackgroundProcess? _tls;
    private int _tlsPort;

    public async Task InitializeAsync()
    {
        _archive = await _s.InitArchiveAsync("archive");
        // 32 chunks: enough parallel fetches that HTTP/1.1 opens several connections where HTTP/2 needs one.
        _image = RandomData.WriteFile(_s["os.img"], 32 << 16, 5);
        (await CircularCli.RunAsync("push", _archive, "os", _image, "--chunk-size", "64K")).Ok();
        (_cert, _key) = SelfSignedCertificate(_s["cert.pem"], _s["key.pem"]);
        _tlsPort = Ports.Free();
        _tls = CircularCli.Start("serve", _archive, "--listen", $"127.0.0.1:{_tlsPort}", "--tls-cert", _cert, "--tls-key", _key);
        if (!await Ports.WaitListeningAsync(_tlsPort, TimeSpan.FromSeconds(30), () => _tls.HasExited))
            throw new Xunit.Sdk.XunitException($"serve --tls-cert did not listen\n{_tls.Err}");
    }

    public async Task DisposeAsync()
    {
        if (_tls is not null) await _tls.DisposeAsync();
        _s.Dispose();
    }

    private Dictionary<string, string> Trusting() => new() { ["SSL_CERT_FILE"] = _cert };

    [Fact]
    public async Task Https_reads_are_exact_over_one_http2_connection_negotiated_by_alpn()
    {
        await using var tlsProxy = new TcpProxy(_tlsPort);
        (await CircularCli.RunAsync(Trusting(), "cat", $"https://127.0.0.1:{tlsProxy.Port}/", "os", "-o", _s["tls.out"], "--cache", "none")).Ok();
        Files.AssertSameBytes(_image, _s["tls.out"]);

        // The same read over cleartext HTTP/1.1 opens several connections; HTTP/2 multiplexes them over one.
        var (plain, url) = await CircularCli.ServeAsync(_archive);
        await using (plain)
        {
            await using var plainProxy = new TcpProxy(url.Port);
            (await CircularCli.RunAsync("cat", $"http://127.0.0.1:{plainProxy.Port}/", "os", "-o", _s["plain.out"], "--cache", "none")).Ok();
            Files.AssertSameBytes(_image, _s["plain.out"]);
            Assert.True(plainProxy.Connections > 1, $"HTTP/1.1 used {plainProxy.Connections} connection(s): the comparison shows nothing");
        }
        Assert.Equal(1, tlsProxy.Connections);

        // What the server offers: curl negotiates HTTP/2 by ALPN.
        string version = await Tools.RunAsync("curl", "-sS", "--http2", "--cacert", _cert, "-o", "/dev/null", "-w", "%{http_version}", $"https://127.0.0.1:{_tlsPort}/images/os/refs.json");
        Assert.Equal("2", version.Trim());
    }

    [Fact]
    public async Task An_untrusted_certificate_fails_with_one_clear_line()
    {
        var r = await CircularCli.RunAsync(new Dictionary<string, string> { ["SSL_CERT_FILE"] = _s["empty.pem"], ["SSL_CERT_DIR"] = _s["no-certs"] },
            "cat", $"https://127.0.0.1:{_tlsPort}/", "os", "-o", _s["untrusted.out"], "--cache", "none", "--timeout", "5");
        Assert.True(r.Code == 1, r.ToString());
        string error = Assert.Single(r.ErrLines, l => !l.StartsWith("circular: warning", StringComparison.Ordinal) && !l.StartsWith("circular: note", StringComparison.Ordinal));
        Assert.Contains("certificate", error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(_s["untrusted.out"]) && new FileInfo(_s["untrusted.out"]).Length > 0, "bytes written from an untrusted server");
    }

    [Fact]
    public async Task Https_proxy_tunnels_through_connect_and_no_proxy_bypasses_a_dead_proxy()
    {
        await using var squid = await SquidServer.StartAsync();
        var env = Trusting();
        env["HTTPS_PROXY"] = env["https_proxy"] = squid.ProxyUrl;
        (await CircularCli.RunAsync(env, "cat", $"https://127.0.0.1:{_tlsPort}/", "os", "-o", _s["connect.out"], "--cache", "none")).Ok();
        Files.AssertSameBytes(_image, _s["connect.out"]);
        // Squid logs a tunnel when it closes, which follows the client's exit by a moment.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!squid.AccessLog.Any(Tunnelled) && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(200);
        Assert.True(squid.AccessLog.Any(Tunnelled), "no CONNECT through Squid:\n" + string.Join('\n', squid.AccessLog));
        bool Tunnelled(string line) => line.Contains($"CONNECT 127.0.0.1:{_tlsPort}", StringComparison.Ordinal);

        // A proxy that does not answer: used when named, bypassed for hosts NO_PROXY lists.
        string dead = $"http://127.0.0.1:{Ports.Free()}";
        var (plain, url) = await CircularCli.ServeAsync(_archive);
        await using (plain)
        {
            var viaDead = new Dictionary<string, string> { ["HTTP_PROXY"] = dead, ["http_proxy"] = dead };
            var refused = await CircularCli.RunAsync(viaDead, "cat", url.ToString(), "os", "-o", _s["dead.out"], "--cache", "none", "--timeout", "5");
            Assert.True(refused.Code == 1, "the dead HTTP_PROXY was not used:\n" + refused);
            viaDead["NO_PROXY"] = viaDead["no_proxy"] = "127.0.0.1";
            (await CircularCli.RunAsync(viaDead, "cat", url.ToString(), "os", "-o", _s["bypass.out"], "--cache", "none")).Ok();
            Files.AssertSameBytes(_image, _s["bypass.out"]);
        }
    }

    private static (string Cert, string Key) SelfSignedCertificate(string certPath, string keyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=circular test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certPath, keyPath);
    }
}
