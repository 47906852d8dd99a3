namespace Circular.Storage.Backends;

/// <summary>
/// Where an archive's files live: a local directory, one or more HTTP mirrors. Backends know paths and bytes,
/// nothing of images or versions (restic's rule). Paths are relative and '/'-separated.
/// </summary>
/// <remarks>
/// Contract: <see cref="TryReadAsync"/> returns null only when the object certainly does not exist; a transient failure
/// (network, timeout) throws <see cref="BackendUnavailableException"/> after the backend's own retries. Writes are atomic:
/// a reader sees the old object or the new one, never a partial one.
/// </remarks>
public interface IArchiveBackend
{
    /// <summary>Human-readable location, for messages.</summary>
    string Location { get; }

    bool IsWritable { get; }

    /// <summary>Reads a whole object. <paramref name="hints"/> lets a caller that found bad data ask for another copy.</summary>
    Task<BackendObject?> TryReadAsync(string path, ReadHints hints, CancellationToken ct);

    /// <summary>Creates or atomically replaces an object.</summary>
    Task WriteAsync(string path, ReadOnlyMemory<byte> data, CancellationToken ct);

    Task<bool> ExistsAsync(string path, CancellationToken ct);

    /// <summary>Every object below a directory prefix, recursively. Local backends only; HTTP throws NotSupportedException.</summary>
    IAsyncEnumerable<BackendEntry> ListAsync(string directory, CancellationToken ct);

    Task DeleteAsync(string path, CancellationToken ct);
}

/// <summary>An object's bytes and the mirror or file they came from.</summary>
public sealed record BackendObject(byte[] Data, string Source);

public sealed record BackendEntry(string Path, long Length, DateTime LastWriteUtc);

/// <summary>
/// Asks for a fresh copy after bad data: <see cref="Avoid"/> names the source that gave it (try the others first),
/// <see cref="BypassCaches"/> asks proxies and CDNs to refetch from the origin (Cache-Control: no-cache).
/// </summary>
public readonly record struct ReadHints(bool BypassCaches = false, string? Avoid = null)
{
    public static ReadHints None => default;
}

/// <summary>No mirror could be reached (offline, refused, timed out): distinct from "not found" and "corrupt".</summary>
public sealed class BackendUnavailableException : Core.Errors.CircularException
{
    public BackendUnavailableException(string message) : base(message) { }
    public BackendUnavailableException(string message, Exception inner) : base(message, inner) { }
}
