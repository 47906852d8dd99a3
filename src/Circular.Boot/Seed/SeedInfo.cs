using System.Globalization;
using System.Text.Json;
using Circular.Boot.Guest;
using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>What `circular seed --info` reports about a seed disk file.</summary>
public sealed record SeedInfo
{
    public required string Format { get; init; }
    public long VirtualSize { get; init; }
    public long AllocatedSize { get; init; }
    public required SeedDescription Description { get; init; }
    public long CachePartitionSize { get; init; }
    /// <summary>Bytes the cache partition's file system uses (e2fsck's count), or -1 when it could not be read.</summary>
    public long CacheUsed { get; init; } = -1;
    /// <summary>What the booted client recorded at its last boot, or null when the disk has not booted yet.</summary>
    public SeedState? LastBoot { get; init; }
    /// <summary>Versions with a writable layer on the disk.</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>Reads a seed disk of any format qemu-img knows (a non-raw one through a sparse raw copy).</summary>
    public static async Task<SeedInfo> ReadAsync(string file, CancellationToken ct)
    {
        if (!File.Exists(file)) throw new NotFoundException($"{file}: no such file");
        string format = "raw";
        long virtualSize = new FileInfo(file).Length, allocated = await AllocatedBytesAsync(file, ct).ConfigureAwait(false);
        if (Programs.OnPath("qemu-img"))
        {
            var q = await Programs.RunAsync("qemu-img", ["info", "--output=json", file], TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
            if (!q.Ok) throw new CircularException($"{file}: not a disk image qemu-img can read ({q.Output.Trim()})");
            using var doc = JsonDocument.Parse(q.Output);
            format = doc.RootElement.GetProperty("format").GetString() ?? "raw";
            virtualSize = doc.RootElement.GetProperty("virtual-size").GetInt64();
        }
        string work = Directory.CreateTempSubdirectory("circular-seed-info-").FullName;
        try
        {
            string raw = file;
            if (format != "raw")
            {
                raw = Path.Combine(work, "disk.raw");
                var c = await Programs.RunAsync("qemu-img", ["convert", "-O", "raw", file, raw], TimeSpan.FromMinutes(30), ct).ConfigureAwait(false);
                if (!c.Ok) throw new CircularException($"{file}: qemu-img cannot read it ({c.Output.Trim()})");
            }
            IReadOnlyList<Partition> parts;
            using (var disk = new FileStream(raw, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
                parts = PartitionTable.Read(disk);
            var esp = parts.FirstOrDefault(p => p.Type == PartitionTable.EfiSystem) ?? throw new ArchiveFormatException($"{file} has no EFI system partition: not a seed disk");
            var json = await EspPartition.TryReadAsync(raw, esp, SeedDiskWriter.DescriptionPath, ct).ConfigureAwait(false)
                ?? throw new ArchiveFormatException($"{file} has no {SeedDiskWriter.DescriptionPath}: not a seed disk written by 'circular seed'");
            var info = new SeedInfo { Format = format, VirtualSize = virtualSize, AllocatedSize = allocated, Description = SeedDescription.Parse(json, file) };
            var cache = parts.FirstOrDefault(p => p.Type == PartitionTable.LinuxData);
            if (cache is null) return info;
            string fs = $"{raw}?offset={cache.Offset.ToString(CultureInfo.InvariantCulture)}";
            var state = await Programs.RunAsync("debugfs", ["-R", "cat /" + CachePartition.StateFile, fs], TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
            var layers = await Programs.RunAsync("debugfs", ["-R", "ls -p /" + CachePartition.LayersDir, fs], TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
            var check = await Programs.RunAsync("e2fsck", ["-fn", fs], TimeSpan.FromMinutes(10), ct).ConfigureAwait(false);
            return info with {
                CachePartitionSize = cache.Length,
                CacheUsed = UsedBytes(check.Output),
                LastBoot = state.Ok ? SeedState.TryParse(System.Text.Encoding.UTF8.GetBytes(JsonPart(state.Output))) : null,
                Layers = layers.Ok ? LayerNames(layers.Output) : [],
            };
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    /// <summary>Blocks the file holds on disk (sparse files and grown images hold less than their size).</summary>
    public static async Task<long> AllocatedBytesAsync(string file, CancellationToken ct)
    {
        var r = await Programs.RunAsync("du", ["-k", file], TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
        return r.Ok && long.TryParse(r.Output.Split('\t')[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib) ? kib * 1024 : new FileInfo(file).Length;
    }

    /// <summary>debugfs prints its banner on stderr, which Programs appends: the JSON is from the first brace to the last.</summary>
    private static string JsonPart(string output) =>
        output.IndexOf('{') is int i and >= 0 && output.LastIndexOf('}') is int j && j > i ? output[i..(j + 1)] : "";

    /// <summary>"CIRCULAR-CACHE: 12/128000 files (0.0% non-contiguous), 10568/511483 blocks" → used bytes (4 KiB blocks).</summary>
    private static long UsedBytes(string e2fsck)
    {
        foreach (string line in e2fsck.Split('\n'))
        {
            int blocks = line.LastIndexOf(" blocks", StringComparison.Ordinal);
            int comma = line.LastIndexOf(", ", StringComparison.Ordinal);
            if (blocks < 0 || comma < 0 || comma > blocks) continue;
            var pair = line[(comma + 2)..blocks].Split('/');
            if (pair.Length == 2 && long.TryParse(pair[0], NumberStyles.None, CultureInfo.InvariantCulture, out long used)) return used * 4096;
        }
        return -1;
    }

    /// <summary>debugfs `ls -p` lines are /INODE/MODE/UID/GID/NAME/SIZE/; directories other than . and ..</summary>
    private static IReadOnlyList<string> LayerNames(string listing) =>
        listing.Split('\n').Select(l => l.Trim().Split('/')).Where(f => f.Length >= 7 && f[2].StartsWith("04", StringComparison.Ordinal) && f[5] is not ("." or ".."))
            .Select(f => f[5]).Order(StringComparer.Ordinal).ToList();
}
