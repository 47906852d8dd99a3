using System.Net;
using Circular.Server.Hosting;

namespace Circular.Server.Tests.Support;

/// <summary>The standard test archive served by <c>circular serve</c>'s server (ArchiveServer) on a loopback port.</summary>
public sealed class ServedArchive : IAsyncDisposable
{
    private ServedArchive(TestArchive archive, ArchiveServer server, Uri url, Uri? h2cUrl)
    {
        Archive = archive;
        Server = server;
        Url = url;
        H2cUrl = h2cUrl;
    }

    public TestArchive Archive { get; }
    public ArchiveServer Server { get; }
    public Uri Url { get; }
    /// <summary>The cleartext HTTP/2 (prior knowledge) endpoint.</summary>
    public Uri? H2cUrl { get; }

    public static async Task<ServedArchive> StartAsync(TestArchive? archive = null)
    {
        archive ??= await TestArchive.CreateStandardAsync();
        int h2c = Ports.Free();
        var options = new ServerOptions(new IPEndPoint(IPAddress.Loopback, 0)) { H2cListen = new IPEndPoint(IPAddress.Loopback, h2c) };
        var server = await ArchiveServer.StartAsync(archive.Root, options, CancellationToken.None);
        string main = server.Addresses.First(a => !a.EndsWith($":{h2c}", StringComparison.Ordinal));
        return new ServedArchive(archive, server, new Uri(main.TrimEnd('/') + "/"), new Uri($"http://127.0.0.1:{h2c}/"));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Archive.Dispose();
    }
}
