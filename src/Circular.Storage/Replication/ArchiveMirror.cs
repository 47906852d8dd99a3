using System.Collections.Concurrent;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Trust;
using Circular.Storage.Writing;

namespace Circular.Storage.Replication;

/// <summary>
/// Verified incremental replication of an archive into a store (the stratum 1): copies only what the destination
/// lacks, checks every chunk and pack against its name, every manifest, profile and pack index against its refs, and
/// every signature against the trusted keys before writing anything, in the publishing order (chunks, then manifests,
/// then refs, last of all), so an interrupted run leaves every version already mirrored readable and the next run
/// resumes. A bad object is refused and reported; that image's refs are then not advanced.
/// </summary>
public sealed class ArchiveMirror
{
    private readonly RecordingBackend _source;
    private readonly ArchiveReader _reader;
    private readonly IArchiveStore _dest;
    private readonly MirrorOptions _options;
    private HashSet<ChunkId>? _destChunks, _destPacks;
    private long _objects, _bytes, _chunksChecked;

    private ArchiveMirror(RecordingBackend source, ArchiveReader reader, IArchiveStore dest, MirrorOptions options)
    {
        _source = source;
        _reader = reader;
        _dest = dest;
        _options = options;
    }

    /// <summary>Objects written to the destination, and their bytes.</summary>
    public long ObjectsCopied => Interlocked.Read(ref _objects);
    public long BytesCopied => Interlocked.Read(ref _bytes);
    /// <summary>Chunks and packs fetched and verified so far (the progress of the current image).</summary>
    public long ChunksVerified => Interlocked.Read(ref _chunksChecked);
    /// <summary>Reads asked of the source.</summary>
    public long SourceRequests => _source.Requests;

    /// <summary>
    /// Replicates <paramref name="source"/> into <paramref name="dest"/> once. Trust: the options' keys, else the keys
    /// the destination already announces, else the keys the source announces (trusted on first use, and published
    /// with the mirror); an unsigned source is mirrored unsigned, each object still checked by its hash.
    /// </summary>
    public static async Task<MirrorReport> RunAsync(IArchiveBackend source, IArchiveStore dest, MirrorOptions options, CancellationToken ct)
    {
        var recording = new RecordingBackend(source);
        var reader = await ArchiveReader.OpenAsync(recording, ct).ConfigureAwait(false);
        var destConfig = await dest.Backend.TryReadAsync(ObjectHandle.Config, ReadHints.None, ct).ConfigureAwait(false);
        // The keys the source announces travel with it (copied verbatim); which keys are trusted is a separate choice.
        var announced = await TrustSetup.ReadAnnouncedKeysAsync(recording, ct).ConfigureAwait(false);
        var keys = options.TrustedKeys.Count > 0 ? options.TrustedKeys : await TrustSetup.ReadAnnouncedKeysAsync(dest.Backend, ct).ConfigureAwait(false);
        bool firstUse = false;
        if (keys.Count == 0)
        {
            keys = announced;
            firstUse = keys.Count > 0;
        }
        if (keys.Count > 0) reader = reader.WithTrust(new TrustPolicy(keys, state: null, options.Log));
        var mirror = new ArchiveMirror(recording, reader, dest, options);
        return await mirror.RunAsync(destConfig is null, keys, announced, firstUse, ct).ConfigureAwait(false);
    }

    private async Task<MirrorReport> RunAsync(bool newDest, IReadOnlyList<VerifyingKey> keys, IReadOnlyList<VerifyingKey> announced, bool firstUse, CancellationToken ct)
    {
        var report = new MirrorReport { Signed = keys.Count > 0, KeysTrustedOnFirstUse = firstUse ? keys.Select(k => k.Id).ToList() : [] };
        if (newDest)
            await CopyRecordedAsync(ObjectHandle.Config, ct).ConfigureAwait(false);
        else
            await StoreSwaps.RequireFormatAsync(_dest, _reader.Config.FormatVersion, ct).ConfigureAwait(false); // before any manifest of that format
        // Keys before any signature that needs them, so a client of the mirror can verify from its first refs on. Only
        // keys this mirror trusts are published with it: a source that announces another key (a compromised origin,
        // or a key rotation) is reported, and the operator decides with --trust.
        if (announced.Count > 0)
        {
            var untrusted = announced.Where(a => !keys.Any(k => k.Id == a.Id)).Select(a => a.Id).ToList();
            if (untrusted.Count == 0)
            {
                foreach (var k in announced) await CopyIfChangedAsync(ObjectHandle.PublicKey(k.Id), ct).ConfigureAwait(false);
                await CopyIfChangedAsync(ObjectHandle.KeyList, ct).ConfigureAwait(false);
            }
            else
            {
                report.Problems.Add(new MirrorProblem("keys.json", $"the source announces key {string.Join(", ", untrusted)}, which this mirror does not trust; " +
                    "its key list was not copied (pass --trust KEY.pub for every key the mirror should publish)"));
            }
        }
        var images = await _reader.ListImagesAsync(ct).ConfigureAwait(false);
        var wanted = _options.Images is { Count: > 0 } only ? images.Where(only.Contains).ToList() : images.ToList();
        foreach (var missing in (_options.Images ?? []).Except(images))
            report.Problems.Add(new MirrorProblem(missing, "no such image in the source"));
        await using (await _dest.LockAsync("chunks", exclusive: false, ct).ConfigureAwait(false))
        {
            foreach (var image in wanted)
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    var outcome = await MirrorImageAsync(image, ct).ConfigureAwait(false);
                    report.Images.Add(outcome);
                }
                catch (CircularException e) when (e.Kind is ErrorKind.Corrupt or ErrorKind.Untrusted or ErrorKind.NotFound)
                {
                    report.Problems.Add(new MirrorProblem(image, e.Message));
                }
            }
        }
        // The signed mirror list travels with the archive, so clients of this mirror learn the others too.
        try
        {
            await CopyIfChangedAsync(ObjectHandle.MirrorList, ct, optional: true).ConfigureAwait(false);
        }
        catch (CircularException e) when (e.Kind is ErrorKind.Corrupt or ErrorKind.Untrusted)
        {
            report.Problems.Add(new MirrorProblem(ArchiveLayout.MirrorListPath, e.Message));
        }
        report.ObjectsCopied = ObjectsCopied;
        report.BytesCopied = BytesCopied;
        report.SourceRequests = SourceRequests;
        return report;
    }

    private async Task<MirrorImage> MirrorImageAsync(string image, CancellationToken ct)
    {
        var refsHandle = ObjectHandle.Refs(image);
        var refs = await _reader.GetRefsAsync(image, ct).ConfigureAwait(false);
        byte[] refsBytes = _source.Recorded(refsHandle) ?? throw new InvalidOperationException("refs were read but not recorded");
        byte[]? refsSig = _source.Recorded(refsHandle.Signature());
        var destRefs = await _dest.Backend.TryReadAsync(refsHandle, ReadHints.None, ct).ConfigureAwait(false);
        if (destRefs is not null && destRefs.Data.AsSpan().SequenceEqual(refsBytes))
        {
            var destSig = await _dest.Backend.TryReadAsync(refsHandle.Signature(), ReadHints.None, ct).ConfigureAwait(false);
            if (SameBytes(destSig?.Data, refsSig)) return new MirrorImage(image, refs.Serial, 0, UpToDate: true);
        }
        if (destRefs is not null && ImageRefs.Parse(destRefs.Data, $"{_dest.Location}/{refsHandle.Path}", image) is { } mine && mine.Serial > refs.Serial)
            throw new TrustException($"the source's refs of '{image}' (serial {refs.Serial}) are older than the mirror's (serial {mine.Serial}): a frozen or replayed source; nothing copied");

        int versionsCopied = 0;
        foreach (var entry in refs.Versions)
        {
            if (await HasManifestAsync(image, entry, ct).ConfigureAwait(false)) continue;
            var manifest = await _reader.GetManifestAsync(image, entry, ct).ConfigureAwait(false);
            var manifestHandle = ObjectHandle.Manifest(image, entry.Version, entry.ExpectedBlocks);
            await CopyChunksAsync($"{image}@{entry.Version}", manifest.ReferencedChunks(), pack: false, ct).ConfigureAwait(false);
            if (await _reader.GetPackIndexAsync(image, entry, ct).ConfigureAwait(false) is { } index)
            {
                await CopyChunksAsync($"{image}@{entry.Version} packs", index.Packs.Select(p => p.ChunkId), pack: true, ct).ConfigureAwait(false);
                await CopyRecordedAsync(ObjectHandle.PackIndex(image, entry.Packs!), ct).ConfigureAwait(false);
            }
            if (await _reader.GetProfileAsync(image, entry, ct).ConfigureAwait(false) is not null)
                await CopyRecordedAsync(ObjectHandle.Profile(image, entry.Profile!), ct).ConfigureAwait(false);
            await CopyPatchAsync(image, entry, refs, ct).ConfigureAwait(false);
            await _dest.FlushAsync(ct).ConfigureAwait(false);
            // The manifest's signature before the manifest: a manifest present means its version is complete.
            if (_source.Recorded(manifestHandle.Signature()) is { } sig) await WriteAsync(manifestHandle.Signature(), sig, ct).ConfigureAwait(false);
            await CopyRecordedAsync(manifestHandle, ct).ConfigureAwait(false);
            versionsCopied++;
        }
        // Profiles and packs attached to versions mirrored earlier (profile push / optimize after the fact).
        foreach (var entry in refs.Versions)
        {
            if (entry.Profile is { } p && !await _dest.Backend.ExistsAsync(ObjectHandle.Profile(image, p), ct).ConfigureAwait(false))
            {
                await _reader.GetProfileAsync(image, entry, ct).ConfigureAwait(false);
                await CopyRecordedAsync(ObjectHandle.Profile(image, p), ct).ConfigureAwait(false);
            }
            if (entry.Packs is { } k && !await _dest.Backend.ExistsAsync(ObjectHandle.PackIndex(image, k), ct).ConfigureAwait(false))
            {
                var index = (await _reader.GetPackIndexAsync(image, entry, ct).ConfigureAwait(false))!;
                await CopyChunksAsync($"{image}@{entry.Version} packs", index.Packs.Select(x => x.ChunkId), pack: true, ct).ConfigureAwait(false);
                await CopyRecordedAsync(ObjectHandle.PackIndex(image, k), ct).ConfigureAwait(false);
            }
        }
        await _dest.FlushAsync(ct).ConfigureAwait(false);
        // Refs last (their signature first: a client reading the new refs finds the signature that matches them), by
        // compare-and-swap under the image's lock: another mirror run into the same place must not roll them back.
        await using (await _dest.LockAsync("image-" + image, exclusive: true, ct).ConfigureAwait(false))
        {
            var now = await _dest.ReadForSwapAsync(refsHandle, ct).ConfigureAwait(false);
            if (now.Data is not null && ImageRefs.Parse(now.Data, $"{_dest.Location}/{refsHandle.Path}", image).Serial > refs.Serial)
                throw new TrustException($"the mirror's refs of '{image}' moved past serial {refs.Serial} while this run copied it; nothing written");
            if (refsSig is not null) await WriteAsync(refsHandle.Signature(), refsSig, ct).ConfigureAwait(false);
            _dest.ThrowIfLocksLost();
            if (!await _dest.SwapAsync(refsHandle, refsBytes, now.Tag, ct).ConfigureAwait(false))
                throw new ConcurrentUpdateException($"the mirror's refs of '{image}' changed under another writer; run it again");
            Count(refsBytes.Length);
        }
        await AddToIndexAsync(image, ct).ConfigureAwait(false);
        return new MirrorImage(image, refs.Serial, versionsCopied, UpToDate: false);
    }

    /// <summary>True when the destination holds this exact manifest (a version mirrored completely before).</summary>
    private async Task<bool> HasManifestAsync(string image, VersionEntry entry, CancellationToken ct)
    {
        var have = await _dest.Backend.TryReadAsync(ObjectHandle.Manifest(image, entry.Version, entry.ExpectedBlocks), ReadHints.None, ct).ConfigureAwait(false);
        return have is not null && Manifest.Digest(have.Data) == entry.ManifestDigest;
    }

    private async Task CopyChunksAsync(string what, IEnumerable<ChunkId> ids, bool pack, CancellationToken ct)
    {
        var have = pack ? _destPacks ??= await ListAsync(ObjectKind.Pack, ct).ConfigureAwait(false)
                        : _destChunks ??= await ListAsync(ObjectKind.Chunk, ct).ConfigureAwait(false);
        var todo = ids.Where(id => !have.Contains(id)).Distinct().ToList();
        if (todo.Count == 0) return;
        long done = 0;
        using var progress = _options.Progress?.Invoke(what, todo.Count, () => Interlocked.Read(ref done));
        var failures = new ConcurrentBag<string>();
        var opts = new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = ct };
        await Parallel.ForEachAsync(todo, opts, async (id, token) =>
        {
            var handle = pack ? ObjectHandle.Pack(id) : ObjectHandle.Chunk(id);
            byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(ChunkFile.MaxChunkLength);
            try
            {
                // Verified like every read: a bad copy is read again past caches and from other mirrors before it counts as damage.
                await VerifiedRead.ReadAsync(_source, handle, async (obj, _) =>
                {
                    ChunkFile.DecodeVerified(id, obj.Source, obj.Data.Span, scratch);
                    await WriteAsync(handle, obj.Data, token).ConfigureAwait(false);
                    lock (have) have.Add(id);
                    return true;
                }, whenMissing: defect => throw defect ?? new ArchiveFormatException($"{(pack ? "pack" : "chunk")} {id.ToHex()} of {what} is missing from {_source.Location}"),
                whenExhausted: null, token).ConfigureAwait(false);
            }
            catch (CircularException e) when (e.Kind is ErrorKind.Corrupt or ErrorKind.Untrusted)
            {
                failures.Add(e.Message);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
                Interlocked.Increment(ref _chunksChecked);
                Interlocked.Increment(ref done);
            }
        }).ConfigureAwait(false);
        if (!failures.IsEmpty)
            throw new ArchiveFormatException($"{what}: {failures.Count} bad object(s) in the source, refused (first: {failures.First()})");
    }

    private async Task<HashSet<ChunkId>> ListAsync(ObjectKind kind, CancellationToken ct)
    {
        var set = new HashSet<ChunkId>();
        await foreach (var e in _dest.Backend.ListAsync(kind, null, ct).ConfigureAwait(false))
            if (ChunkId.TryParse(e.Name, out var id)) set.Add(id);
        return set;
    }

    /// <summary>Copies what the verifying reader read (never re-read: the source may have changed since).</summary>
    /// <summary>The version's manifest patch, when its refs name one and it rebuilds exactly the manifest copied.</summary>
    private async Task CopyPatchAsync(string image, VersionEntry entry, ImageRefs refs, CancellationToken ct)
    {
        if (entry.PatchFrom is null || await _reader.PatchProblemAsync(image, entry, refs, ct).ConfigureAwait(false) is not null) return;
        var handle = ObjectHandle.ManifestPatch(image, entry.Version, entry.ExpectedBlocks);
        // A patch that rebuilds something else is no copy to spread: clients of the mirror fetch the manifest whole.
        if (_source.Recorded(handle) is { } patch) await WriteAsync(handle, patch, ct).ConfigureAwait(false);
    }

    private Task CopyRecordedAsync(ObjectHandle handle, CancellationToken ct) =>
        WriteAsync(handle, _source.Recorded(handle) ?? throw new InvalidOperationException($"{handle.Path} was not read before its copy"), ct);

    /// <summary>Small unverified-by-refs objects (keys, key list, mirror list): copied when they differ.</summary>
    private async Task CopyIfChangedAsync(ObjectHandle handle, CancellationToken ct, bool optional = false)
    {
        var obj = _source.Recorded(handle) is { } seen ? new BackendObject(seen, "")
            : await _source.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false);
        if (obj is null)
        {
            if (!optional) throw new ArchiveFormatException($"{_source.Location} has no {handle.Path}");
            return;
        }
        if (handle.Kind == ObjectKind.MirrorList)
        {
            var sig = await _source.TryReadAsync(handle.Signature(), ReadHints.None, ct).ConfigureAwait(false);
            if (_reader.Trust is { } trust) trust.Verify(handle.Path, obj.Data, sig?.Data, $"mirror list of {_source.Location}");
            if (sig is not null && !await SameAsDestAsync(handle.Signature(), sig.Data, ct).ConfigureAwait(false))
                await WriteAsync(handle.Signature(), sig.Data, ct).ConfigureAwait(false);
        }
        if (!await SameAsDestAsync(handle, obj.Data, ct).ConfigureAwait(false)) await WriteAsync(handle, obj.Data, ct).ConfigureAwait(false);
    }

    private async Task<bool> SameAsDestAsync(ObjectHandle handle, byte[] data, CancellationToken ct) =>
        SameBytes((await _dest.Backend.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false))?.Data, data);

    private static bool SameBytes(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private async Task AddToIndexAsync(string image, CancellationToken ct)
    {
        if (await StoreSwaps.AddToIndexAsync(_dest, image, ct).ConfigureAwait(false) is { } written) Count(written.Length);
    }

    private async Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await _dest.Backend.WriteAsync(handle, data, ct).ConfigureAwait(false);
        Count(data.Length);
    }

    private void Count(long bytes)
    {
        Interlocked.Increment(ref _objects);
        Interlocked.Add(ref _bytes, bytes);
    }
}
