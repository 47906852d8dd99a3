using System.CommandLine;
using System.Diagnostics;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Imaging.Images;
using Circular.Imaging.Overlay;
using Circular.Storage.Archive;
using Circular.Storage.Chunks;
using Circular.Storage.Writing;

namespace Circular.Cli.Commands;

public static class CommitCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var name = new Argument<string>("NAME") { Description = "Image whose overlay to commit" };
        var overlayDir = new Option<string>("--overlay") { Description = "Overlay directory given to 'nbd --writable' or 'mount --writable' (or the image's own overlay inside it)", Required = true };
        var message = new Option<string?>("--message", "-m") { Description = "Describe the version" };
        var tag = new Option<string?>("--tag") { Description = "Tag the new version" };
        var keep = new Option<bool>("--keep-overlay") { Description = "Keep the overlay after committing (by default it is removed: its changes are now in the archive)" };
        var cmd = new Command("commit",
            "Publish base version + overlay as the next version of NAME; only the changed blocks are stored") { archive, name, overlayDir, message, tag, keep };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            string image = pr.GetValue(name)!;
            ImageName.Validate(image);
            string? tagValue = pr.GetValue(tag);
            if (tagValue is not null) ImageName.ValidateTag(tagValue);
            string root = pr.GetValue(overlayDir)!;
            string dir = File.Exists(Path.Combine(root, "overlay.json")) ? root : Path.Combine(root, image);
            string statePath = Path.Combine(dir, "overlay.json");
            if (!File.Exists(statePath)) throw new NotFoundException($"no overlay of '{image}' in {root}");
            var state = OverlayState.Parse(await File.ReadAllBytesAsync(statePath, ct), statePath);
            if (state.Image != image) throw new UsageException($"{dir} is an overlay of '{state.Image}', not '{image}'");

            var clock = Stopwatch.StartNew();
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            var refs = await la.Reader.GetRefsAsync(image, ct);
            var entry = refs.Find(state.BaseVersion) ?? throw new NotFoundException($"the overlay's base {image}@{state.BaseVersion} is not in the archive");
            var baseManifest = await la.Reader.GetManifestAsync(image, entry, ct);
            var chunks = new MemoryChunkCache(new BackendChunkSource(la.Backend), ChunkSizes.Max, 64L << 20);
            var baseImage = new ChunkedImage(baseManifest, chunks, $"{image}@{entry.Version}");
            VersionEntry published;
            OverlayCommitter.Result result;
            ChunkWriter writer;
            bool snapshot;
            await using (var overlay = await OverlayImage.OpenAsync(dir, baseImage, entry.ManifestDigest, ct, snapshotIfBusy: true))
            {
                snapshot = overlay.IsSnapshot;
                if (snapshot)
                    System.Console.Error.WriteLine($"circular: note: {dir} is held by a running server; committing what it last flushed and keeping the overlay");
                if (!overlay.HasChanges) throw new CircularException($"the overlay of {image}@{entry.Version} has no changes to commit");
                await using var chunkLock = await la.LockChunksAsync(exclusive: false, ct);
                // A format 2 base gives a format 2 version, with the same chunking; a format 1 base stays format 1.
                bool format2 = baseManifest.Map.HasStoredDigests;
                writer = new ChunkWriter(la.Backend, ChunkCodecNames.Parse(baseManifest.Metadata.Codec ?? la.Config.Codec), 3) { RecordsStoredDigests = format2 };
                writer.Learn(baseManifest.Map);
                var committer = new OverlayCommitter(overlay, baseManifest, writer);
                using (ProgressBar.Start($"commit {image}", overlay.Size, () => committer.Processed))
                    result = await committer.BuildAsync(ct);
                string? msg = pr.GetValue(message);
                var (_, newRefs) = await la.PublishAsync(image, (version, _) =>
                {
                    var meta = baseManifest.Metadata with { Version = version, Created = DateTimeOffset.UtcNow, Message = msg, Parent = entry.Version };
                    var manifest = format2
                        ? new Manifest(meta, baseManifest.Chunking, baseManifest.ChunkSize, result.Chunks.Map(baseManifest.ChunkSize, baseManifest.ImageSize))
                        : new Manifest(meta, baseManifest.ChunkSize, baseManifest.ImageSize, result.Blocks);
                    return (manifest, new VersionEntry {
                        Version = version,
                        ManifestDigest = "",
                        Size = manifest.ImageSize,
                        ChunkSize = manifest.ChunkSize,
                        ChunkingName = entry.ChunkingName,
                        Created = meta.Created,
                        Message = msg,
                        Blocks = result.Blocks.LongLength,
                        ZeroBlocks = result.ZeroBlocks,
                        AddedChunks = writer.NewChunks,
                        AddedBytes = writer.NewBytes,
                    });
                }, tagValue, ct);
                published = newRefs.Find(newRefs.Latest)!;
            }
            if (!pr.GetValue(keep) && !snapshot)
            {
                File.Delete(statePath); // first: a kill part-way through leaves no overlay, never a part of one
                Directory.Delete(dir, recursive: true);
            }
            System.Console.WriteLine($"committed {image} version {published.Version} (from {entry.Version} + overlay)");
            System.Console.WriteLine($"  blocks: {result.ChangedBlocks} changed, {writer.NewChunks} new chunks, {ByteSize.Format(writer.NewBytes)} written in {clock.Elapsed.TotalSeconds:0.00} s");
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
