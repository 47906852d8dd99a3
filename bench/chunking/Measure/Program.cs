using System.Globalization;
using Circular.Core.Chunks;

// Dedup between two versions of an image under each chunking (bench/chunking/run.sh): how many bytes the second
// version adds to an archive holding the first (raw, and as stored: zstd level 3 chunk files), and how many chunks.
//   chunking-measure OLD.img NEW.img [fixed:256K content:128K ...]
// With --reads PROFILE (a boot profile of NEW, docs/format.md "Profiles"; bench/chunking/boot-pair.sh): what of the
// changed data that boot reads: its pages found nowhere in OLD (raw, and zstd level 3 as one stream: the least any
// client could fetch), and per chunking the new chunks it touches (what a client holding OLD fetches).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: chunking-measure OLD.img NEW.img [--reads PROFILE.json] [fixed:SIZE|content:AVERAGE ...]");
    return 2;
}
string? profile = null;
var rest = args[2..].ToList();
int at = rest.IndexOf("--reads");
if (at >= 0)
{
    profile = rest[at + 1];
    rest.RemoveRange(at, 2);
}
string[] configs = rest.Count > 0 ? [.. rest] : ["fixed:256K", "content:64K", "content:128K", "content:256K"];
if (profile is not null) return BootReads.Report(args[0], args[1], profile, configs, Pieces);
Console.WriteLine("chunking       chunks(new)  mean KiB  new raw MiB  new stored MiB  reused %  seconds");
foreach (string config in configs)
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var old = Pieces(args[0], config).Where(p => !p.Zero).Select(p => p.Id).ToHashSet();
    var pieces = Pieces(args[1], config).Where(p => !p.Zero).ToList();
    var added = new HashSet<ChunkId>();
    long newRaw = 0, newStored = 0, total = 0;
    foreach (var p in pieces)
    {
        total += p.Length;
        if (old.Contains(p.Id) || !added.Add(p.Id)) continue;
        newRaw += p.Length;
        newStored += p.Stored;
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{config,-14} {pieces.Count,6}({added.Count,5})  {total / Math.Max(1, pieces.Count) / 1024.0,8:0.0}  {newRaw / 1048576.0,11:0.0}  {newStored / 1048576.0,14:0.0}  {100.0 * (total - newRaw) / Math.Max(1, total),8:0.0}  {clock.Elapsed.TotalSeconds,7:0.0}"));
}
return 0;

static List<(ChunkId Id, long Offset, long Length, long Stored, bool Zero)> Pieces(string path, string config)
{
    string[] kv = config.Split(':');
    int size = (int)ByteSize.Parse(kv[1]);
    using var file = File.OpenHandle(path);
    long length = RandomAccess.GetLength(file);
    var cuts = new List<ImagePiece>();
    if (kv[0] == "fixed")
        for (long o = 0; o < length; o += size) cuts.Add(new ImagePiece(o, Math.Min(size, length - o), false));
    else
    {
        var cutter = new ContentBoundaries(size, cuts.Add);
        byte[] window = new byte[8 << 20];
        for (long o = 0; o < length;)
        {
            int n = RandomAccess.Read(file, window, o);
            if (n <= 0) break;
            cutter.Add(window.AsSpan(0, n));
            o += n;
        }
        cutter.Complete();
    }
    var result = new (ChunkId, long, long, long, bool)[cuts.Count];
    int max = ChunkFile.MaxChunkLength;
    Parallel.For(0, cuts.Count, () => (new byte[max], new byte[ChunkFile.MaxEncodedLength(max)]), (i, _, buffers) =>
    {
        var c = cuts[i];
        if (c.IsZero)
        {
            result[i] = (ChunkId.Zero, c.Offset, c.Length, 0, true);
            return buffers;
        }
        var raw = buffers.Item1.AsSpan(0, (int)c.Length);
        RandomAccess.Read(file, raw, c.Offset);
        if (raw.IndexOfAnyExcept((byte)0) < 0) result[i] = (ChunkId.Zero, c.Offset, c.Length, 0, true);
        else result[i] = (ChunkId.Compute(raw), c.Offset, c.Length, ChunkFile.Encode(raw, ChunkCodec.Zstd, 3, buffers.Item2), false);
        return buffers;
    }, _ => { });
    return [.. result];
}
