using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Circular.Storage.Http;

/// <summary>
/// The connection setups (TCP connect, then TLS) a handler has under way, per origin (scheme, host and port of the
/// request that started each one). A request whose time overlapped a setup to its origin measured that setup, not
/// the mirror's distance: when an open's reads go out together, each on a new connection, their times are one to
/// three round trips too long, enough to rank a near mirror behind a farther one. <see cref="HttpBackend"/> leaves
/// such samples out of the ranking (<see cref="Mirror.RecordSuccess"/>). With a handler it was not asked to
/// <see cref="Track"/>, no setup is ever seen and every sample counts.
/// </summary>
internal sealed class ConnectionSetups
{
    /// <summary>A setup not seen to end by then (a TLS handshake that failed) counts as over.</summary>
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(30);
    private static readonly HttpRequestOptionsKey<Setup> SetupKey = new("circular.connection-setup");
    private readonly ConcurrentDictionary<string, Origin> _origins = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What a request notes before it is sent, to ask <see cref="Overlapped"/> after its answer.</summary>
    public readonly record struct Mark(Origin Origin, long Changes, bool Busy)
    {
        /// <summary>Whether a setup to the origin was under way at the mark, or started or ended since.</summary>
        public bool Overlapped => Busy || Volatile.Read(ref Origin.Changes) != Changes;
    }

    /// <summary>The setups of one origin: how many are under way, and a count of every start and end.</summary>
    public sealed class Origin
    {
        internal int InProgress;
        internal long Changes;
    }

    /// <summary>Notes the state of <paramref name="origin"/>'s setups before a request to it is sent.</summary>
    public Mark Before(string origin)
    {
        var o = _origins.GetOrAdd(origin, static _ => new Origin());
        return new Mark(o, Volatile.Read(ref o.Changes), Volatile.Read(ref o.InProgress) > 0);
    }

    /// <summary>
    /// Makes <paramref name="handler"/> report its setups here: it connects as SocketsHttpHandler does by default
    /// (a dual-mode TCP socket to the DNS end point, no Nagle), and a setup ends when the plain-text stream is ready,
    /// after TLS on https.
    /// </summary>
    public void Track(SocketsHttpHandler handler)
    {
        handler.ConnectCallback = async (context, ct) =>
        {
            var setup = Begin(OriginOf(context.InitialRequestMessage.RequestUri));
            context.InitialRequestMessage.Options.Set(SetupKey, setup);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                setup.End();
                throw;
            }
        };
        handler.PlaintextStreamFilter = (context, _) =>
        {
            if (context.InitialRequestMessage.Options.TryGetValue(SetupKey, out var setup)) setup.End();
            return ValueTask.FromResult(context.PlaintextStream);
        };
    }

    /// <summary>The key requests and setups share: "scheme://host:port".</summary>
    public static string OriginOf(Uri? uri) => uri is null ? "" : uri.Scheme + "://" + uri.Authority;

    private Setup Begin(string origin)
    {
        var o = _origins.GetOrAdd(origin, static _ => new Origin());
        Interlocked.Increment(ref o.InProgress);
        Interlocked.Increment(ref o.Changes);
        return new Setup(o);
    }

    /// <summary>One setup; ends once, when the stream is ready, the connect fails, or after <see cref="Longest"/>.</summary>
    private sealed class Setup
    {
        private readonly Origin _origin;
        private readonly Timer _expiry;
        private int _ended;

        public Setup(Origin origin)
        {
            _origin = origin;
            _expiry = new Timer(static s => ((Setup)s!).End(), this, Longest, Timeout.InfiniteTimeSpan);
        }

        public void End()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0) return;
            _expiry.Dispose();
            Interlocked.Decrement(ref _origin.InProgress);
            Interlocked.Increment(ref _origin.Changes);
        }
    }
}
