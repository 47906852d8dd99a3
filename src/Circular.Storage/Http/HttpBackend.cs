using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Circular.Core.Archive;
using Circular.Storage.Backends;

namespace Circular.Storage.Http;

/// <summary>
/// A read-only archive on one or more HTTP(S) mirrors. Prefers the mirror with the lowest measured round-trip
/// time, fails over on errors, timeouts and (through <see cref="ReadHints"/>) corrupt data, retries with backoff,
/// and honours HTTP_PROXY/HTTPS_PROXY/NO_PROXY (the framework's default proxy).
/// </summary>
public sealed class HttpBackend : IArchiveBackend, IDisposable
{
    private volatile Mirror[] _mirrors;
    private readonly HttpClient _client;
    private readonly HttpBackendOptions _options;
    private readonly bool _ownsClient;
    private Task? _probing;
    private readonly Lock _probeLock = new();
    /// <summary>The setups of our own handler's connections (none seen with a handler given by the caller).</summary>
    private readonly ConnectionSetups _setups = new();

    public HttpBackend(IEnumerable<Uri> mirrors, HttpBackendOptions options, HttpMessageHandler? handler = null)
    {
        _mirrors = mirrors.Select(u => new Mirror(u)).ToArray();
        if (_mirrors.Length == 0) throw new ArgumentException("at least one mirror", nameof(mirrors));
        _options = options;
        _ownsClient = true;
        if (handler is null)
        {
            var own = CreateHandler(options);
            _setups.Track(own);
            handler = own;
        }
        _client = new HttpClient(handler, disposeHandler: true) {
            Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own deadline
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("circular", "1"));
    }

    public static SocketsHttpHandler CreateHandler(HttpBackendOptions options) => new() {
        ConnectTimeout = options.Timeout < TimeSpan.FromSeconds(5) ? options.Timeout : TimeSpan.FromSeconds(5),
        MaxConnectionsPerServer = options.MaxConnectionsPerServer,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        AutomaticDecompression = DecompressionMethods.None,
        EnableMultipleHttp2Connections = true,
        UseProxy = true,
    };

    public IReadOnlyList<Mirror> Mirrors => _mirrors;

    /// <summary>
    /// Adds mirrors learned while running (an archive's mirror list); known ones are skipped. They are probed in the
    /// background (an unreachable one must not delay reads) and ranked last until measured, then with the others by
    /// round trip. Returns how many were new.
    /// </summary>
    public int AddMirrors(IEnumerable<Uri> urls)
    {
        lock (_addLock)
        {
            var now = _mirrors;
            var added = urls.Select(u => new Mirror(u)).Where(m => !now.Any(k => k.Name == m.Name)).DistinctBy(m => m.Name).ToArray();
            if (added.Length == 0) return 0;
            _mirrors = [.. now, .. added];
            // Reads never wait for these probes: the mirrors known so far keep serving meanwhile.
            lock (_probeLock) _probing ??= Task.CompletedTask;
            foreach (var m in added) _ = Task.Run(() => ProbeTwiceAsync(m, CancellationToken.None));
            return added.Length;
        }
    }

    private readonly Lock _addLock = new();
    public string Location => _mirrors[0].Name;
    public bool IsWritable => false;

    private long _requests, _bytes;
    public long Requests => Interlocked.Read(ref _requests);
    public long BytesReceived => Interlocked.Read(ref _bytes);

    public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
    {
        using var obj = await ReadAsync(handle, hints, pooled: false, ct).ConfigureAwait(false);
        return obj?.ToBackendObject(); // not rented: the body array itself
    }

    /// <summary>Chunk bodies go into rented buffers: a new array per body was most of a cold read's garbage.</summary>
    public Task<PooledObject?> TryReadPooledAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct) =>
        ReadAsync(handle, hints, pooled: true, ct);

    private async Task<PooledObject?> ReadAsync(ObjectHandle handle, ReadHints hints, bool pooled, CancellationToken ct)
    {
        string path = handle.Path;
        await EnsureProbedAsync(ct).ConfigureAwait(false);
        ReprobeStaleMirrors();
        Exception? lastError = null;
        for (int round = 0; round <= _options.Retries; round++)
        {
            if (round > 0) await Task.Delay(Backoff(round), ct).ConfigureAwait(false);
            int notFound = 0, tried = 0;
            foreach (var mirror in Order(hints.Avoid))
            {
                tried++;
                var result = await TryMirrorAsync(mirror, handle, hints, pooled, ct).ConfigureAwait(false);
                switch (result.Outcome)
                {
                    case Outcome.Ok: return result.Object;
                    case Outcome.NotFound: notFound++; break;
                    default: lastError = result.Error; break;
                }
            }
            if (tried > 0 && notFound == tried) return null;
            if (notFound > 0 && lastError is null) return null;
        }
        throw new BackendUnavailableException(
            $"cannot read {path} from {string.Join(", ", _mirrors.Select(m => m.Name))}: {lastError?.Message ?? "all mirrors failed"}", lastError!);
    }

    private enum Outcome { Ok, NotFound, Failed }
    private readonly record struct Attempt(Outcome Outcome, PooledObject? Object, Exception? Error);

    private async Task<Attempt> TryMirrorAsync(Mirror mirror, ObjectHandle handle, ReadHints hints, bool pooled, CancellationToken ct)
    {
        string path = handle.Path;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.Timeout);
        var setup = _setups.Before(mirror.Origin);
        var clock = Stopwatch.StartNew();
        try
        {
            using var req = NewRequest(HttpMethod.Get, mirror.Resolve(path));
            if (hints.BypassCaches) req.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
            Interlocked.Increment(ref _requests);
            using var resp = await _client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            // Time to the response headers: a round trip plus the server's latency, comparable with the probes
            // (the body's transfer time depends on its size, not on the mirror's distance), unless it overlapped a
            // connection setup to the mirror, which it then also measured.
            double headersMs = clock.Elapsed.TotalMilliseconds;
            bool clean = !setup.Overlapped;
            if (resp.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
            {
                mirror.RecordSuccess(headersMs, clean);
                return new Attempt(Outcome.NotFound, null, null);
            }
            if (!resp.IsSuccessStatusCode)
            {
                mirror.RecordFailure();
                return new Attempt(Outcome.Failed, null, new HttpRequestException($"{mirror.Name}: HTTP {(int)resp.StatusCode} for {path}"));
            }
            var body = await BoundedBody.ReadAsync(resp.Content, mirror.Name + "/" + path, handle, pooled, deadline.Token).ConfigureAwait(false);
            Interlocked.Add(ref _bytes, body.Length);
            mirror.RecordSuccess(headersMs, clean);
            return new Attempt(Outcome.Ok, body, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            mirror.RecordFailure();
            return new Attempt(Outcome.Failed, null, new TimeoutException($"{mirror.Name}: no complete answer for {path} within {_options.Timeout.TotalSeconds:0.#} s"));
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // An oversized body lands here too (BodyTooLargeException): the mirror counts as failed and the next one is asked.
            mirror.RecordFailure();
            return new Attempt(Outcome.Failed, null, new IOException(e is BodyTooLargeException ? e.Message : $"{mirror.Name}: {HttpErrors.Describe(e)}", e));
        }
    }

    /// <summary>
    /// Healthy mirrors fastest first; mirrors recently failed go last (still tried, so one flaky answer never
    /// makes an archive unreadable); mirrors that gave bad data go after all others.
    /// </summary>
    private List<Mirror> Order(IReadOnlyList<string>? avoid)
    {
        var list = _mirrors.OrderBy(m => m.IsDown ? 1 : 0).ThenBy(m => double.IsNaN(m.RttMs) ? double.MaxValue : m.RttMs).ToList();
        if (avoid is { Count: > 0 })
        {
            var bad = list.Where(m => avoid.Any(a => a.StartsWith(m.Name + "/", StringComparison.Ordinal))).ToList();
            list.RemoveAll(bad.Contains);
            list.AddRange(bad);
        }
        return list;
    }

    private TimeSpan Backoff(int round) =>
        TimeSpan.FromMilliseconds(Math.Min(2000, 100 * Math.Pow(2, round - 1)) * (0.5 + Random.Shared.NextDouble()));

    /// <summary>
    /// Measures each mirror's round trip before the first read (in parallel) so the first reads go to the fastest.
    /// Each mirror gets two small HEADs and the second one counts: the first also pays for connection setup (and,
    /// for an in-process server, JIT), which would make a fast mirror look slow for the rest of the run; it overlaps
    /// its connection's setup, so <see cref="Mirror.RecordSuccess"/> lets the second replace it. Reads that
    /// start together (an open's metadata, read at once) all wait for the same probes; each stops waiting when its
    /// own token is cancelled, and the probes end by their own deadline.
    /// </summary>
    private Task EnsureProbedAsync(CancellationToken ct)
    {
        var probing = Volatile.Read(ref _probing);
        if (probing is null)
        {
            lock (_probeLock)
                probing = _probing ??= _mirrors is { Length: >= 2 } mirrors
                    ? Task.WhenAll(mirrors.Select(m => ProbeTwiceAsync(m, CancellationToken.None)))
                    : Task.CompletedTask;
        }
        return probing.IsCompleted ? Task.CompletedTask : probing.WaitAsync(ct);
    }

    /// <summary>Two probes, the second counting: the first also pays for connection setup.</summary>
    private async Task ProbeTwiceAsync(Mirror m, CancellationToken ct)
    {
        if (await ProbeAsync(m, ct).ConfigureAwait(false)) await ProbeAsync(m, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads only go to the mirror ranked first, so the others' round-trip times are never measured again by reads:
    /// one slow answer would sideline a mirror for the whole run. Every <see cref="ReprobeEvery"/> reads, mirrors
    /// not measured for <see cref="ReprobeAge"/> get a background probe.
    /// </summary>
    private void ReprobeStaleMirrors()
    {
        var mirrors = _mirrors;
        if (mirrors.Length < 2 || Interlocked.Increment(ref _reads) % ReprobeEvery != 0) return;
        foreach (var m in mirrors)
            if (m.SinceMeasured > ReprobeAge) _ = ProbeAsync(m, CancellationToken.None);
    }

    private const int ReprobeEvery = 64;
    private static readonly TimeSpan ReprobeAge = TimeSpan.FromSeconds(10);
    private long _reads;

    /// <summary>One HEAD of circular.json; records the round trip or the failure. Never throws.</summary>
    private async Task<bool> ProbeAsync(Mirror m, CancellationToken ct)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(Math.Min(2, _options.Timeout.TotalSeconds)));
            var setup = _setups.Before(m.Origin);
            var clock = Stopwatch.StartNew();
            using var req = NewRequest(HttpMethod.Head, m.Resolve(ObjectHandle.Config.Path));
            using var resp = await _client.SendAsync(req, deadline.Token).ConfigureAwait(false);
            if ((int)resp.StatusCode < 500)
            {
                m.RecordSuccess(clock.Elapsed.TotalMilliseconds, !setup.Overlapped);
                return true;
            }
            m.RecordFailure();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException) { m.RecordFailure(); }
        catch (ObjectDisposedException) { } // a background probe outliving the backend
        return false;
    }

    /// <summary>A request with the client's version policy (HTTP/2 by ALPN on https), which a new HttpRequestMessage does not inherit.</summary>
    private HttpRequestMessage NewRequest(HttpMethod method, Uri url) =>
        new(method, url) { Version = _client.DefaultRequestVersion, VersionPolicy = _client.DefaultVersionPolicy };

    public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        throw new NotSupportedException($"{Location} is read-only: push to a local archive and publish it with a web server");

    public async Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) =>
        await TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false) is not null;

    public async IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        throw new NotSupportedException("an HTTP archive cannot be listed");
#pragma warning disable CS0162 // an async iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }

    public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException($"{Location} is read-only");

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }
}

public sealed record HttpBackendOptions
{
    /// <summary>Deadline for one request to one mirror, headers and body.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Extra rounds over all mirrors after the first, with backoff.</summary>
    public int Retries { get; init; } = 2;
    public int MaxConnectionsPerServer { get; init; } = 16;
}
