using Circular.Core.Archive;
using Circular.Core.Errors;

namespace Circular.Storage.Backends;

/// <summary>
/// The one fetch → verify → retry loop of the read path (chunks, packs, refs, manifests, profiles, pack indexes): read
/// an object, let the caller check it against what it trusts, and when the copy is bad (<see cref="IBadCopy"/>) read
/// it again past every cache, avoiding each source that gave a bad copy so far. A bad copy is never returned.
/// </summary>
public static class VerifiedRead
{
    /// <summary>
    /// Attempts in all: the first as usual, then two past caches: enough for a bad cached copy and a bad mirror
    /// before a good one; each mirror that failed goes last, so more mirrors are reached by HttpBackend's own failover.
    /// </summary>
    public const int Attempts = 3;

    /// <param name="accept">Checks a copy and returns what the caller keeps; throws an <see cref="IBadCopy"/> exception for a bad
    /// copy. Gets the hints of this attempt, for reading companions (a signature) from the same place. The copy is disposed
    /// after it returns.</param>
    /// <param name="whenMissing">What a missing object gives (a value, or an exception thrown); gets the bad copy met before, if any.</param>
    /// <param name="whenExhausted">The exception when every attempt gave a bad copy: gets the last defect and every bad source.</param>
    public static async Task<T> ReadAsync<T>(
        IArchiveBackend backend, ObjectHandle handle,
        Func<PooledObject, ReadHints, ValueTask<T>> accept,
        Func<Exception?, T> whenMissing,
        Func<Exception, IReadOnlyList<string>, Exception>? whenExhausted,
        CancellationToken ct)
    {
        var hints = ReadHints.None;
        Exception? defect = null;
        var bad = new List<string>();
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            using var obj = await backend.TryReadPooledAsync(handle, hints, ct).ConfigureAwait(false);
            if (obj is null) return whenMissing(defect);
            try
            {
                return await accept(obj, hints).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IBadCopy)
            {
                defect = e;
                bad.Add(obj.Source);
                hints = hints.After(obj.Source);
            }
        }
        throw whenExhausted?.Invoke(defect!, bad) ?? defect!;
    }
}
