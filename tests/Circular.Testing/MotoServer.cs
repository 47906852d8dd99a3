using System.Diagnostics;

namespace Circular.Testing;

/// <summary>
/// A private S3 server (moto_server, on this machine image) on a loopback port, with a bucket made for the test, and the
/// environment the AWS SDK needs to reach it. Anonymous reads of the bucket are allowed (a bucket policy), so the same
/// objects can be read over plain HTTP as from a public bucket or a CDN. A missing moto_server fails the test.
/// </summary>
public sealed class MotoServer : IAsyncDisposable
{
    private readonly Process _process;

    private MotoServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>What `circular` (and rclone) need in their environment: credentials, region and the endpoint.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> {
        ["AWS_ACCESS_KEY_ID"] = "test",
        ["AWS_SECRET_ACCESS_KEY"] = "test",
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = Endpoint,
    };

    /// <summary>The plain HTTP URL of a prefix of a bucket (path-style), as a public bucket is read.</summary>
    public string HttpUrl(string bucket, string prefix) => $"{Endpoint}/{bucket}/{prefix}";

    public static async Task<MotoServer> StartAsync()
    {
        string? failure = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int port = Ports.Free();
            var psi = new ProcessStartInfo(Tools.Locate("moto_server")) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            _ = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            if (await Ports.WaitListeningAsync(port, TimeSpan.FromSeconds(30), () => p.HasExited) && !p.HasExited)
                return new MotoServer(p, port);
            failure = $"moto_server did not start on port {port}";
            try { p.Kill(); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        throw new Xunit.Sdk.XunitException(failure);
    }

    /// <summary>Creates a bucket anyone may read (GetObject for "*"), through moto's REST API.</summary>
    public async Task CreatePublicBucketAsync(string bucket)
    {
        using var http = new HttpClient();
        // moto accepts unsigned requests; a real S3 would need SigV4 here, which the tests leave to circular and rclone.
        using (var put = await http.PutAsync($"{Endpoint}/{bucket}", null))
            put.EnsureSuccessStatusCode();
        string policy = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/*"}]}""";
        using var req = new HttpRequestMessage(HttpMethod.Put, $"{Endpoint}/{bucket}?policy") { Content = new StringContent(policy) };
        using var resp = await http.SendAsync(req);
        resp.EnsureSuccessStatusCode();
    }

    public ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(5000);
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
