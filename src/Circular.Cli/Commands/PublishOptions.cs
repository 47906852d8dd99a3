using System.CommandLine;
using Circular.Core.Archive;
using Circular.Core.Chunks;

namespace Circular.Cli.Commands;

/// <summary>The options of every command that publishes an image as a new version (push, import).</summary>
public sealed class PublishOptions
{
    public Option<string?> Tag { get; } = new("--tag") { Description = "Tag the new version" };
    public Option<string?> Message { get; } = new("--message", "-m") { Description = "Describe the version" };
    public Option<string?> ChunkSize { get; } = new("--chunk-size") { Description = "Fixed chunking: the block size, a power of two from 64K to 4M (default: the archive's, 256K). Content chunking: the average chunk size, a power of two from 16K to 1M (default 64K)" };
    public Option<string?> Chunking { get; } = new("--chunking") { Description = "fixed: blocks of --chunk-size (default); content: content-defined chunks (docs/chunking.md), which dedup rebuilt images; marks the archive as format 2" };
    public Option<string?> Codec { get; } = new("--codec") { Description = "zstd (default) or zlib" };
    public Option<int> Level { get; } = new("--level") { Description = "Compression level (zstd 1-19, zlib 1-9)", DefaultValueFactory = _ => 3 };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Tag, Message, Chunking, ChunkSize, Codec, Level }) cmd.Options.Add(o);
    }

    /// <summary>Checks the image name and the tag before anything is opened, so bad input changes nothing.</summary>
    public string? ValidateNameAndTag(ParseResult pr, string imageName)
    {
        ImageName.Validate(imageName);
        string? tag = pr.GetValue(Tag);
        if (tag is not null) ImageName.ValidateTag(tag);
        return tag;
    }

    /// <summary>Settings for <see cref="PushCommand.PushAsync"/>; defaults come from the archive's config.</summary>
    public PushCommand.PushSettings Settings(ParseResult pr, ArchiveConfig config, BootAssetFiles? boot, string? defaultMessage = null, int? parallelism = null)
    {
        var chunking = pr.GetValue(Chunking) switch {
            null or "fixed" => Core.Manifests.Chunking.Fixed,
            "content" => Core.Manifests.Chunking.Content,
            var other => throw new Core.Errors.UsageException($"--chunking '{other}': use fixed or content"),
        };
        int chunkSize = chunking == Core.Manifests.Chunking.Content
            ? pr.GetValue(ChunkSize) is { } avg ? ParseAverage(avg) : DefaultContentAverage
            : pr.GetValue(ChunkSize) is { } s ? ChunkSizes.ParseChunkSize(s) : config.ChunkSize;
        return new(chunkSize,
            ChunkCodecNames.Parse(pr.GetValue(Codec) ?? config.Codec),
            pr.GetValue(Level),
            pr.GetValue(Tag),
            pr.GetValue(Message) ?? defaultMessage,
            boot,
            parallelism) { Chunking = chunking };
    }

    /// <summary>Content chunking's default average: stores what casync stores on rebuilt images (docs/chunking.md).</summary>
    public const int DefaultContentAverage = 64 << 10;

    private static int ParseAverage(string text)
    {
        long v = ByteSize.Parse(text);
        if (v > int.MaxValue || !ContentBoundaries.IsValidAverage((int)v))
            throw new Core.Errors.UsageException($"average chunk size '{text}' must be a power of two from 16K to 1M");
        return (int)v;
    }
}
