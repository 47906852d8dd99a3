using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Circular.Server.Tests.Support;

/// <summary>One request as the fault server saw it.</summary>
public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A small Kestrel app serving a directory of files (whole bodies, never ranges) with switchable faults:
/// HTTP 500s, truncated bodies, stalls, corrupt files, added delay. Records every request and its headers.
/// Stalled requests end when the server is disposed.
/// </summary>
public sealed class FaultServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _root;
    private WebApplication? _app;
    private int _disposed;

    private FaultServer(string root) => _root = Path.GetFullPath(root);

    public Faults Faults { get; } = new();
    public ConcurrentQueue<RecordedRequest> Log { get; } = new();
    public Uri Url { get; private set; } = null!;

    /// <summary>GET requests for one path so far.</summary>
    public IReadOnlyList<RecordedRequest> Gets(string path) => Log.Where(r => r.Method == "GET" && r.Path == path).ToList();
    public int ChunkGets => Log.Count(r => r.Method == "GET" && r.Path.StartsWith("chunks/", StringComparison.Ordinal));

    public static async Task<FaultServer> StartAsync(string root)
    {
        var server = new FaultServer(root);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            // A new connection's first answer waits the setup delay: what a TLS handshake or a far server's
            // connect costs once per connection, which loopback does not.
            k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
            {
                if (server.Faults.ConnectionSetupDelay > TimeSpan.Zero) await Task.Delay(server.Faults.ConnectionSetupDelay);
                await next(connection);
            }));
        });
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server._app = app;
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        string path = Uri.UnescapeDataString(ctx.Request.Path.Value ?? "/").TrimStart('/');
        Log.Enqueue(new RecordedRequest(ctx.Request.Method, path,
            ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        var ct = linked.Token;
        bool faulty = Faults.Applies(path);
        try
        {
            if (Faults.Delay > TimeSpan.Zero) await Task.Delay(Faults.Delay, ct);
            if (faulty && Faults.Stall == StallMode.BeforeHeaders) await Task.Delay(Timeout.Infinite, ct);
            if (faulty && Faults.TakeFailure())
            {
                ctx.Response.StatusCode = StatusCodes.Status500InternalServerError;
                return;
            }
            string? full = Resolve(path);
            if (full is null)
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            byte[] body = await File.ReadAllBytesAsync(full, ct);
            if (Faults.Corrupt.ContainsKey(path)) body[body.Length / 2] ^= 0xff;
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.ContentLength = body.Length;
            ctx.Response.Headers.LastModified = File.GetLastWriteTimeUtc(full).ToString("R");
            if (Faults.AdvertiseRanges) ctx.Response.Headers.AcceptRanges = "bytes";
            if (HttpMethods.IsHead(ctx.Request.Method)) return;
            if (faulty && (Faults.TakeTruncation() || Faults.Stall == StallMode.MidBody))
            {
                await ctx.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2), ct);
                await ctx.Response.Body.FlushAsync(ct);
                if (Faults.Stall == StallMode.MidBody) await Task.Delay(Timeout.Infinite, ct);
                ctx.Abort();
                return;
            }
            await ctx.Response.Body.WriteAsync(body, ct);
        }
        catch (OperationCanceledException)
        {
            ctx.Abort();
        }
    }

    private string? Resolve(string path)
    {
        if (path.Length == 0 || path.Split('/').Any(s => s.Length == 0 || s.StartsWith('.'))) return null;
        string full = Path.GetFullPath(Path.Combine(_root, path));
        return full.StartsWith(_root + "/", StringComparison.Ordinal) && File.Exists(full) ? full : null;
    }

    /// <summary>Stops listening and drops every open request: the server "goes away". Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(deadline.Token);
            await _app.DisposeAsync();
        }
        _stopping.Dispose();
    }
}
