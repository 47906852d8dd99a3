using System.Buffers;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Storage.Archive;
using Circular.Storage.Http;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Seed;

/// <summary>What `circular seed --fill` stores in the cache partition before the first boot (besides the version's metadata, always).</summary>
public enum SeedFill { None, Profile, All }

/// <summary>
/// Fills a seed disk's cache before its first boot, exactly as the booted client would have: the archive is read
/// through a disk cache rooted in the partition's staging directory, its metadata filed under the URL the guest
/// will use (<see cref="ArchiveClientOptions.CacheAs"/>), so the guest finds every object in place.
/// </summary>
public static class SeedCacheFill
{
    /// <summary>Reads what <paramref name="fill"/> asks for through <paramref name="options"/> (whose cache is the staging one); returns the bytes stored.</summary>
    public static async Task<long> FillAsync(ArchiveClientOptions options, ImageSpec spec, SeedFill fill, ILogger log, CancellationToken ct)
    {
        await using var client = await ArchiveClient.OpenAsync(options, ct).ConfigureAwait(false);
        var version = await client.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        if (fill == SeedFill.None)
        {
            // Its metadata only (the manifest, boot profile and pack index, immutable): the first boot then asks the
            // archive for the mutable files alone (refs, image list) before its first blocks, not for half a MiB more
            // in three more round trips. Only a head start: one that cannot be read now is fetched (and its fault
            // reported) at boot.
            try
            {
                await client.Reader.GetProfileAsync(version.Image, version.Entry, ct).ConfigureAwait(false);
                await client.Reader.GetPackIndexAsync(version.Image, version.Entry, ct).ConfigureAwait(false);
            }
            catch (Core.Errors.CircularException e)
            {
                log.LogWarning("{Version}'s boot profile or pack index was not stored in the cache ({Reason}): the first boot fetches it", version.Name, e.Message);
            }
            return client.Cache?.Total ?? 0;
        }
        if (version.Entry.Profile is null)
        {
            if (fill == SeedFill.Profile)
                log.LogWarning("{Version} has no boot profile ('circular profile record' makes one): the cache holds its metadata only", version.Name);
        }
        else
        {
            // Opening the version starts its prefetcher: the profile's packs and chunks, in boot order.
            _ = await client.Catalog.OpenAsync(version.Name, writable: false, ct).ConfigureAwait(false);
            await Task.WhenAll(client.Prefetchers.Select(p => p.Completion)).ConfigureAwait(false);
            int failed = client.Prefetchers.Sum(p => p.Failed);
            if (failed > 0) throw new Core.Errors.CircularException($"{failed} of the profile's reads failed while filling the cache");
        }
        if (fill == SeedFill.All) await ReadAllAsync(client, version, log, ct).ConfigureAwait(false);
        return client.Cache?.Total ?? 0;
    }

    /// <summary>Every stored block of the version, a few at a time.</summary>
    private static async Task ReadAllAsync(ArchiveClient client, ResolvedVersion version, ILogger log, CancellationToken ct)
    {
        var manifest = version.Manifest;
        var map = manifest.Map;
        var ids = Enumerable.Range(0, map.Count).Select(map.Ref).Where(c => !c.Id.IsZero).DistinctBy(c => c.Id).ToList();
        int buffer = map.MaxChunkLength;
        int done = 0;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (id, token) =>
        {
            byte[] rented = ArrayPool<byte>.Shared.Rent(buffer);
            try { await client.Chunks.ReadThroughAsync(id, rented.AsMemory(0, buffer), token).ConfigureAwait(false); }
            finally { ArrayPool<byte>.Shared.Return(rented); }
            int n = Interlocked.Increment(ref done);
            if (n % 256 == 0) log.LogInformation("filling the cache: {Done} of {Total} blocks", n, ids.Count);
        }).ConfigureAwait(false);
    }

    /// <summary>The location the guest's client files metadata under for <paramref name="url"/> (its HTTP layer's name for it).</summary>
    public static string GuestLocation(string url) => new Mirror(new Uri(url)).Name;
}
