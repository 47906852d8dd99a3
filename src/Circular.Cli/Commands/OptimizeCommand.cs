using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Imaging.HotData;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Chunks;

namespace Circular.Cli.Commands;

/// <summary>circular optimize: packs the pages a version's profile reads into a few pack files.</summary>
public static class OptimizeCommand
{
    private const long MinPackSize = 64 << 10;

    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME@VERSION with a profile ('circular profile push')" };
        var packSize = new Option<string>("--pack-size") { Description = "Largest pack (uncompressed), up to 4M", DefaultValueFactory = _ => "4M" };
        var level = new Option<int>("--level") { Description = "Compression level of the packs (zstd 1-19, zlib 1-9)", DefaultValueFactory = _ => 9 };
        var standalone = new Option<bool>("--standalone") {
            Description = "Copy every page into this version's own packs. By default a page the parent version's packs already hold is mapped " +
                "there, so a client that booted the parent downloads only the pages that changed"
        };
        var cmd = new Command("optimize",
            "Gather the 4 KiB pages the version's profile read, in the order they were read, into a few pack files, so a cold boot fetches " +
            "about what it reads instead of whole chunks. Clients that do not know packs read the version as before; run again after a new profile")
            { archive, spec, packSize, level, standalone };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            var s = ImageSpec.Parse(pr.GetValue(spec)!);
            long size = ByteSize.Parse(pr.GetValue(packSize)!);
            if (size < MinPackSize || size > ChunkFile.MaxChunkLength)
                throw new UsageException($"--pack-size {pr.GetValue(packSize)}: choose from 64K to 4M");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            var (refs, entry, manifest) = await la.Reader.OpenVersionAsync(s, ct);
            string name = $"{s.Name}@{entry.Version}";
            var profile = await la.Reader.GetProfileAsync(s.Name, entry, ct)
                ?? throw new NotFoundException($"{name} has no profile: record one with 'circular boot ... --record-profile FILE' and store it with 'circular profile push'");
            if (profile.Size != entry.Size) throw new ArchiveFormatException($"the profile of {name} describes a {profile.Size}-byte image, not {entry.Size}");
            var codec = ChunkCodecNames.Parse(manifest.Metadata.Codec ?? la.Config.Codec);
            int lvl = pr.GetValue(level);
            var image = new ChunkedImage(manifest, new MemoryChunkCache(new BackendChunkSource(la.Backend), ChunkSizes.Max, 64L << 20), name);
            byte[] scratch = new byte[ChunkFile.MaxEncodedLength(ChunkFile.MaxChunkLength)];

            // Held shared until the index names the packs, so a concurrent gc cannot delete them in between.
            await using var chunkLock = await la.LockChunksAsync(exclusive: false, ct);
            var parent = pr.GetValue(standalone) || manifest.Metadata.Parent is not int p ? null : refs.Find(p);
            var reuse = await ParentPagesAsync(la, s.Name, parent, ct);
            var builder = new PackBuilder(image, (int)size);
            var index = await builder.BuildAsync(profile, entry.ManifestDigest, entry.Profile!, async (raw, token) =>
            {
                var id = ChunkId.Compute(raw.Span);
                var pack = ObjectHandle.Pack(id);
                // A pack file already there (another version's, maybe written with another codec or level) is kept, and
                // its digest recorded, once its content has been checked against the id; a corrupt one is replaced.
                if (await la.Backend.TryReadAsync(pack, ReadHints.None, token) is { } existing)
                {
                    try
                    {
                        ChunkFile.DecodeVerified(id, existing.Source, existing.Data, new byte[raw.Length]);
                        return (id, existing.Data.Length, ChunkId.Compute(existing.Data));
                    }
                    catch (ChunkIntegrityException) { }
                }
                // Encoded only when it is to be written: compressing 4 MiB at a high level is the costly part.
                int n = ChunkFile.Encode(raw.Span, codec, lvl, scratch);
                await la.Backend.WriteAsync(pack, scratch.AsMemory(0, n), token);
                return (id, n, ChunkId.Compute(scratch.AsSpan(0, n)));
            }, ct, reuse);
            if (index.Packs.Count == 0)
            {
                System.Console.WriteLine($"nothing to pack: every page the profile of {name} read is in a zero block (zero blocks cost nothing to read)");
                return CommandAction.Ok;
            }
            string digest = await la.AttachPacksAsync(s.Name, entry.Version, index.Serialize(), ct);

            long raw = index.Packs.Sum(p => (long)p.Length), stored = index.Packs.Sum(p => p.Stored);
            long chunkBytes = await TouchedChunkBytesAsync(la, profile, manifest, ct);
            System.Console.WriteLine($"packed {index.Regions.Count} regions ({ByteSize.Format(raw)}) of {name} into {index.Packs.Count} packs, " +
                $"{ByteSize.Format(stored)} stored (index {digest[..12]})");
            System.Console.WriteLine($"a cold boot now fetches {ByteSize.Format(stored)} of packs instead of {ByteSize.Format(chunkBytes)} of chunks");
            if (parent is not null && reuse.Count > 0)
            {
                var own = index.Packs.Where(p => !reuse.Holds(p.Id)).ToList();
                System.Console.WriteLine($"{own.Count} new packs ({ByteSize.Format(own.Sum(p => p.Stored))} stored) hold the pages that {s.Name}@{parent.Version}'s " +
                    $"packs do not; a client that booted {s.Name}@{parent.Version} fetches only those");
            }
            return CommandAction.Ok;
        }));
        return cmd;
    }

    /// <summary>The pages of the parent version's packs (verified against their ids), or none when it has no packs.</summary>
    private static async Task<BasePages> ParentPagesAsync(WritableArchive la, string image, Core.Refs.VersionEntry? parent, CancellationToken ct)
    {
        if (parent is null || await la.Reader.GetPackIndexAsync(image, parent, ct) is not { } index) return BasePages.None;
        var store = new PackStore(la.Backend, index);
        var pages = new BasePages();
        for (int i = 0; i < index.Packs.Count; i++) pages.AddPack(index.Packs[i], await store.GetAsync(i, ct));
        return pages;
    }

    /// <summary>Stored bytes of the distinct chunks the profile touches: what a boot fetches without packs.</summary>
    private static async Task<long> TouchedChunkBytesAsync(WritableArchive la, Core.HotData.BootProfile profile, Core.Manifests.Manifest manifest, CancellationToken ct)
    {
        var touched = profile.TouchedBlocks(manifest).Select(b => manifest.Map.Id((int)b)).ToHashSet();
        long total = 0;
        if (la.Backend is Storage.Backends.ILocalObjects local)
        {
            foreach (var id in touched)
            {
                var file = new FileInfo(local.FullPath(ObjectHandle.Chunk(id)));
                if (file.Exists) total += file.Length;
            }
            return total;
        }
        // An object store: one listing gives every size (a request per chunk would cost more for any real profile).
        await foreach (var e in la.Backend.ListAsync(ObjectKind.Chunk, null, ct))
            if (ChunkId.TryParse(e.Name, out var id) && touched.Contains(id)) total += e.Length;
        return total;
    }
}
