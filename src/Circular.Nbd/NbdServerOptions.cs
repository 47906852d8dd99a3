using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Nbd;

/// <summary>Settings of an <see cref="NbdServer"/>.</summary>
public sealed record NbdServerOptions
{
    /// <summary>Open exports with writable:true; otherwise every export is read-only.</summary>
    public bool Writable { get; init; }

    /// <summary>Where one-line messages go (listening address, per-connection errors).</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;

    /// <summary>Largest READ or WRITE payload, advertised as the maximum block size. The protocol default is 32 MiB.</summary>
    public int MaxPayload { get; init; } = 32 * 1024 * 1024;

    /// <summary>Requests one connection may have in progress at once; the reader stops parsing beyond this.</summary>
    public int MaxInFlight { get; init; } = 16;

    /// <summary>Export served for the empty name; null means the first entry of the catalog.</summary>
    public string? DefaultExport { get; init; }

    /// <summary>
    /// Payload bytes (read and write buffers) one connection may hold at once. Together with
    /// <see cref="MaxInFlight"/> this bounds memory per connection; a single request of up to
    /// <see cref="MaxPayload"/> is always admitted.
    /// </summary>
    public long MaxInFlightBytes { get; init; } = 64 * 1024 * 1024;

    internal void Validate()
    {
        // 4096 is the preferred block size we advertise; the maximum must not be below it.
        if (MaxPayload < 4096 || MaxPayload > 1 << 30)
            throw new ArgumentOutOfRangeException(nameof(MaxPayload), MaxPayload, "must be between 4 KiB and 1 GiB");
        if (MaxInFlight < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxInFlight), MaxInFlight, "must be at least 1");
        if (MaxInFlightBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxInFlightBytes), MaxInFlightBytes, "must be positive");
    }
}
