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

    public sealed record PushSettings(int ChunkSize, ChunkCodec Codec, int Level, string? Tag, string? Message, BootAssetFiles? Boot, int? Parallelism = null);

    public sealed record PushResult(VersionEntry Entry, long Blocks, long ZeroBlocks, long NewChunks, long Reused, long NewBytes, TimeSpan Elapsed, long ImageSize);

    /// <summary>The whole push: chunks (under the shared chunk lock), boot assets, manifest, refs.</summary>
    public static async Task<PushResult> PushAsync(WritableArchive la, string imageName, IBlockImage source, PushSettings s, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        await using var chunkLock = await la.LockChunksAsync(exclusive: false, ct);
        var writer = new ChunkWriter(la.Backend, s.Codec, s.Level);
        // A remote store's latency, not the cores, bounds a push: keep many uploads in flight, and list once.
        if (la.Store.IsRemote) await writer.ListStoredAsync(ct);
        var chunker = new ImageChunker(writer, s.ChunkSize) {
            Parallelism = s.Parallelism ?? (la.Store.IsRemote ? Math.Max(16, Environment.ProcessorCount) : Environment.ProcessorCount),
        };
        ChunkedResult result;
        using (ProgressBar.Start($"push {imageName}", source.Size, () => chunker.Processed))
            result = await chunker.ChunkAsync(source, ct);
        BootAssets? bootAssets = null;
        if (s.Boot is not null)
        {
            bootAssets = new BootAssets {
                Kernel = s.Boot.Kernel is null ? null : await chunker.StoreFileAsync(s.Boot.Kernel, ct),
                Initrd = s.Boot.Initrd is null ? null : await chunker.StoreFileAsync(s.Boot.Initrd, ct),
                Append = s.Boot.Append,
            };
        }
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
            var manifest = new Manifest(meta, s.ChunkSize, source.Size, result.Blocks);
            var entry = new VersionEntry {
                Version = version,
                ManifestDigest = "",
                Size = source.Size,
                ChunkSize = s.ChunkSize,
                Created = meta.Created,
                Message = s.Message,
                Blocks = result.Blocks.LongLength,
                ZeroBlocks = result.ZeroBlocks,
                AddedChunks = writer.NewChunks,
                AddedBytes = writer.NewBytes,
            };
            return (manifest, entry);
        }, s.Tag, ct);
        return new PushResult(refs.Find(refs.Latest)!, result.Blocks.LongLength, result.ZeroBlocks, writer.NewChunks, writer.Reused, writer.NewBytes, clock.Elapsed, source.Size);
    }

    public static void Report(string imageName, PushResult r)
    {
        double secs = Math.Max(r.Elapsed.TotalSeconds, 1e-3);
        var inv = CultureInfo.InvariantCulture;
        System.Console.WriteLine($"pushed {imageName} version {r.Entry.Version} ({ByteSize.Format(r.ImageSize)})");
        System.Console.WriteLine($"  blocks: {r.Blocks} total, {r.NewChunks} new, {r.Reused} reused, {r.ZeroBlocks} zero");
        System.Console.WriteLine(string.Create(inv, $"  written: {ByteSize.Format(r.NewBytes)} in {secs:0.00} s ({r.ImageSize / secs / 1e6:0.0} MB/s of image)"));
    }
}
