using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Signing;
using Circular.Storage.Backends;
using Circular.Storage.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Circular.Storage.Trust;

/// <summary>
/// Chooses a client's trust policy for one archive: the --trust keys when given; else the keys pinned for this
/// location; else, when the archive announces keys (keys.json), it pins them now (trust on first use) with a warning;
/// else null: an unsigned archive read as before.
/// </summary>
public static class TrustSetup
{
    public static async Task<TrustPolicy?> ResolveAsync(
        IArchiveBackend backend, string location, IReadOnlyList<string> trustFiles, TrustState state, ILogger log, CancellationToken ct)
    {
        if (trustFiles.Count > 0)
            return new TrustPolicy(trustFiles.Select(VerifyingKey.Load).ToList(), state, log);
        if (state.TryGetPin(location) is { } pinned)
            return new TrustPolicy(pinned, state, log);
        var keys = await ReadAnnouncedKeysAsync(backend, ct).ConfigureAwait(false);
        if (keys.Count == 0) return null;
        string pin = state.SavePin(location, keys);
        log.TrustedOnFirstUse(string.Join(", ", keys.Select(k => k.Id)), location, pin);
        return new TrustPolicy(keys, state, log);
    }

    /// <summary>The keys keys.json announces, each read from keys/KEYID.pub and checked to be that key; none for an unsigned archive.</summary>
    public static async Task<IReadOnlyList<VerifyingKey>> ReadAnnouncedKeysAsync(IArchiveBackend backend, CancellationToken ct)
    {
        var obj = await backend.TryReadAsync(ObjectHandle.KeyList, ReadHints.None, ct).ConfigureAwait(false);
        if (obj is null) return [];
        var announced = ArchiveKeys.Parse(obj.Data, backend.Location);
        var keys = new List<VerifyingKey>();
        foreach (var entry in announced.Keys)
        {
            var handle = ObjectHandle.PublicKey(entry.Id);
            string path = handle.Path;
            var pem = await backend.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false)
                ?? throw new ArchiveFormatException($"{backend.Location} lists key {entry.Id} but has no {path}");
            var key = VerifyingKey.FromPem(System.Text.Encoding.UTF8.GetString(pem.Data), path);
            if (key.Id != entry.Id) throw new TrustException($"{path} of {backend.Location} holds key {key.Id}, not {entry.Id}");
            keys.Add(key);
        }
        return keys;
    }

    /// <summary>The form of a location pins are keyed by: URLs without a trailing slash, directories as full paths.</summary>
    public static string NormalizeLocation(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)
            ? location.TrimEnd('/')
            : Path.GetFullPath(location).TrimEnd('/');
}
