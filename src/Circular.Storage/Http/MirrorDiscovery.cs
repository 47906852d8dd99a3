using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Backends;
using Circular.Storage.Diagnostics;
using Circular.Storage.Trust;
using Microsoft.Extensions.Logging;

namespace Circular.Storage.Http;

/// <summary>
/// A client given one URL learns the archive's other mirrors from its mirror list (mirrors.json, docs/format.md) and
/// adds them to its <see cref="HttpBackend"/>, which ranks them by round trip, fails over and fails back. The list is
/// read while the client opens (alongside its trust set-up, so no extra round trip is waited for) and checked with the
/// same trust as refs; a list that fails the check is ignored with a warning, never fatal.
/// </summary>
public static class MirrorDiscovery
{
    /// <summary>The list and its signature as the archive serves them (both null when it has no list). Never throws for a missing list.</summary>
    public static async Task<(byte[]? List, byte[]? Signature)> ReadAsync(IArchiveBackend backend, CancellationToken ct)
    {
        var list = backend.TryReadAsync(ObjectHandle.MirrorList, ReadHints.None, ct);
        var sig = backend.TryReadAsync(ObjectHandle.MirrorList.Signature(), ReadHints.None, ct);
        return ((await list.ConfigureAwait(false))?.Data, (await sig.ConfigureAwait(false))?.Data);
    }

    /// <summary>Checks the list against <paramref name="trust"/> (null: an unsigned archive) and adds its mirrors. Returns how many were new.</summary>
    public static int Apply(HttpBackend http, byte[]? list, byte[]? signature, TrustPolicy? trust, ILogger log)
    {
        if (list is null) return 0;
        try
        {
            trust?.Verify(ArchiveLayout.MirrorListPath, list, signature, $"mirror list of {http.Location}");
            var parsed = MirrorList.Parse(list, http.Location);
            var urls = parsed.Mirrors.Select(m => new Uri(MirrorList.Normalize(m.Url) + "/")).ToList();
            int added = http.AddMirrors(urls);
            if (added > 0) log.MirrorsLearned(http.Location, added, string.Join(", ", urls.Select(u => u.AbsoluteUri.TrimEnd('/'))));
            return added;
        }
        catch (CircularException e)
        {
            log.MirrorListIgnored(http.Location, e.Message);
            return 0;
        }
    }
}
