using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Imaging.Images;
using Circular.Imaging.Publishing;
using Circular.Storage.Archive;
using Circular.Storage.Writing;

namespace Circular.Cli.Commands;

public static class PushCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var name = new Argument<string>("NAME") { Description = "Image name (letters, digits, '.', '_', '-')" };
        var image = new Argument<string>("IMAGE") { Description = "Raw disk image, ISO or block device; qcow2, vmdk, vdi and vhdx are read through qemu-img" };
        var publish = new PublishOptions();
        var boot = BootAssetOptions.Create();
        var cmd = new Command("push", "Publish an image as the next version of NAME; only blocks the archive lacks are stored")
        {
            archive, name, image,
        };
        publish.AddTo(cmd);
        boot.AddTo(cmd);
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            string imageName = pr.GetValue(name)!;
            publish.ValidateNameAndTag(pr, imageName);
            string path = pr.GetValue(image)!;
            if (!File.Exists(path) && !Path.Exists(path)) throw new NotFoundException($"image {path} does not exist");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            var settings = publish.Settings(pr, la.Config, boot.Read(pr));

            string? tempRaw = null;
            try
            {
                string format = ImageFormat.Detect(path);
                if (format != "raw")
                {
                    tempRaw = Path.Combine(la.Store.ScratchDirectory, $"convert-{Environment.ProcessId}-{Guid.NewGuid():N}.raw");
                    Directory.CreateDirectory(Path.GetDirectoryName(tempRaw)!);
                    System.Console.Error.WriteLine($"reading {format} image through qemu-img");
                    await ImageFormat.ConvertToRawAsync(path, format, tempRaw, ct);
                }
                await using var source = LocalImageFile.Open(tempRaw ?? path);
                var result = await PushAsync(la, imageName, source, settings, ct);
                Report(imageName, result);
            }
            finally
            {
                if (tempRaw is not null) File.Delete(tempRaw);
            }
            return CommandAction.Ok;
        }));
        return cmd;
    }

    public sealed record PushSettings(int ChunkSize, ChunkCodec Codec, int Level, string? Tag, string? Message, BootAssetFiles? Boot, int? Parallelism = null)
    {
        public Chunking Chunking { get; init; } = Chunking.Fixed;
    }

    public sealed record PushResult(VersionEntry Entry, long Blocks, long ZeroBlocks, long NewChunks, long Reused, long NewBytes, TimeSpan Elapsed, long ImageSize)
    {
        /// <summary>Uncompressed bytes of the image found in the archive already (zero runs not counted).</summary>
        public long SharedBytes { get; init; }
        /// <summary>Uncompressed bytes of the chunks this push stored.</summary>
        public long NewDataBytes { get; init; }
    }

    /// <summary>The whole push: chunks (under the shared chunk lock), boot assets, manifest, refs.</summary>
    public static async Task<PushResult> PushAsync(WritableArchive la, string imageName, IBlockImage source, PushSettings s, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        bool content = s.Chunking == Chunking.Content;
        // Format 2 before the first format-2 manifest, so older clients refuse the archive instead of misreading it.
        if (content && await la.RequireFormatAsync(2, ct))
            System.Console.Error.WriteLine($"{la.Root}: now archive format 2 (content-defined chunks): older circular programs refuse it as too new");
        bool format2 = content || la.Config.FormatVersion >= 2;
        await using var chunkLock = await la.LockChunksAsync(exclusive: false, ct);
        var writer = new ChunkWriter(la.Backend, s.Codec, s.Level) { RecordsStoredDigests = format2 };
        // A remote store's latency, not the cores, bounds a push: keep many uploads in flight, and list once.
        if (la.Store.IsRemote) await writer.ListStoredAsync(ct);
        if (format2) await LearnStoredDigestsAsync(la, imageName, writer, ct);
        int parallelism = s.Parallelism ?? (la.Store.IsRemote ? Math.Max(16, Environment.ProcessorCount) : Environment.ProcessorCount);
        var chunker = new ImageChunker(writer, content ? Manifest.ContentAssetBlockSize : s.ChunkSize) { Parallelism = parallelism };
        ChunkedResult result;
        if (content)
        {
            var cutter = new ContentChunker(writer, s.ChunkSize) { Parallelism = parallelism };
            using (ProgressBar.Start($"push {imageName}", source.Size, () => cutter.Processed))
                result = await cutter.ChunkAsync(source, ct);
        }
        else
        {
            using (ProgressBar.Start($"push {imageName}", source.Size, () => chunker.Processed))
                result = await chunker.ChunkAsync(source, ct);
        }
        BootAssets? bootAssets = null;
        if (s.Boot is not null)
        {
            bootAssets = new BootAssets {
                Kernel = s.Boot.Kernel is null ? null : await chunker.StoreFileAsync(s.Boot.Kernel, ct),
                Initrd = s.Boot.Initrd is null ? null : await chunker.StoreFileAsync(s.Boot.Initrd, ct),
                Append = s.Boot.Append,
            };
        }
        long newChunks = writer.NewChunks, reused = writer.Reused, newBytes = writer.NewBytes, sharedBytes = writer.ReusedBytes, newDataBytes = writer.NewRawBytes;
        var (_, refs) = await la.PublishAsync(imageName, (version, prev) =>
        {
            var meta = new ManifestMetadata {
                Image = imageName,
                Version = version,
                Created = DateTimeOffset.UtcNow,
                Message = s.Message,
                Parent = prev?.Latest,
                Codec = s.Codec.Name(),
                Boot = bootAssets,
            };
            var manifest = format2
                ? new Manifest(meta, s.Chunking, s.ChunkSize, result.Map(s.ChunkSize, source.Size))
                : new Manifest(meta, s.ChunkSize, source.Size, result.Blocks);
            var entry = new VersionEntry {
                Version = version,
                ManifestDigest = "",
                Size = source.Size,
                ChunkSize = s.ChunkSize,
                ChunkingName = content ? VersionEntry.ContentChunkingName : null,
                Created = meta.Created,
                Message = s.Message,
                Blocks = result.Blocks.LongLength,
                ZeroBlocks = result.ZeroBlocks,
                AddedChunks = newChunks,
                AddedBytes = newBytes,
            };
            return (manifest, entry);
        }, s.Tag, ct);
        return new PushResult(refs.Find(refs.Latest)!, result.Blocks.LongLength, result.ZeroBlocks, newChunks, reused, newBytes, clock.Elapsed, source.Size) {
            SharedBytes = sharedBytes,
            NewDataBytes = newDataBytes,
        };
    }

    /// <summary>The stored digests the image's latest version recorded: most chunks of a new version are its.</summary>
    private static async Task LearnStoredDigestsAsync(WritableArchive la, string imageName, ChunkWriter writer, CancellationToken ct)
    {
        if (await la.Reader.TryGetRefsAsync(imageName, ct) is not { } refs || refs.Find(refs.Latest) is not { } latest) return;
        writer.Learn((await la.Reader.GetManifestAsync(imageName, latest, ct)).Map);
    }

    public static void Report(string imageName, PushResult r)
    {
        double secs = Math.Max(r.Elapsed.TotalSeconds, 1e-3);
        var inv = CultureInfo.InvariantCulture;
        System.Console.WriteLine($"pushed {imageName} version {r.Entry.Version} ({ByteSize.Format(r.ImageSize)})");
        string unit = r.Entry.Chunking == Chunking.Content ? "chunks" : "blocks";
        System.Console.WriteLine($"  {unit}: {r.Blocks} total, {r.NewChunks} new, {r.Reused} reused, {r.ZeroBlocks} zero");
        long data = r.SharedBytes + r.NewDataBytes;
        System.Console.WriteLine($"  data: {ByteSize.Format(data)}, {ByteSize.Format(r.SharedBytes)} shared with the archive, {ByteSize.Format(r.NewDataBytes)} new");
        System.Console.WriteLine(string.Create(inv, $"  written: {ByteSize.Format(r.NewBytes)} in {secs:0.00} s ({r.ImageSize / secs / 1e6:0.0} MB/s of image)"));
    }
}
