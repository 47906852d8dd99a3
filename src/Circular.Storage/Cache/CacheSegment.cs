using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Circular.Storage.Cache;

/// <summary>What eviction removes as a whole: a segment file, or one chunk file of the older one-file-per-chunk layout.</summary>
public abstract class CacheUnit
{
    /// <summary>Bytes on disk.</summary>
    public long Size { get; set; }
    /// <summary>The cache's clock at this unit's last use (LRU order).</summary>
    public long LastUse { get; set; }
    /// <summary>Its file's time was set to now in this run (done once, on the first use).</summary>
    public bool Touched { get; set; }
    public abstract string FilePath { get; }
}

/// <summary>A chunk file of the one-file-per-chunk layout (cache version 1), still read and evicted, no longer written.</summary>
public sealed class LegacyChunkFile(string path, string key) : CacheUnit
{
    public override string FilePath => path;
    /// <summary>The chunk's relative path, its key in the index.</summary>
    public string Key => key;
}

/// <summary>One record of a segment: where a chunk's bytes are, and whether it was dropped as damaged.</summary>
public readonly record struct SegmentRecord(string Key, long Header, long Offset, int Length, bool Dead);

/// <summary>
/// One segment file (docs/cache.md): records appended by one process, read by any. The writing process reserves
/// each record's place under the cache's lock and writes it outside, data first and header last, so a reader in
/// another process that sees a whole header also sees its data; a record cut short by a crash ends the segment.
/// </summary>
public sealed class CacheSegment : CacheUnit
{
    public const string Extension = ".cseg";
    private SafeFileHandle? _handle;

    private CacheSegment(string path)
    {
        FilePath = path;
        Name = Path.GetFileName(path);
        string[] parts = Name.Split('-');
        WriterPid = parts.Length >= 2 && int.TryParse(parts[1], out int pid) ? pid : 0;
    }

    public override string FilePath { get; }
    public string Name { get; }
    /// <summary>The process that appends to it (0 if the name does not say).</summary>
    public int WriterPid { get; }
    /// <summary>This process appends to it.</summary>
    public bool Own { get; private set; }
    /// <summary>End of the records read so far (segments of other processes).</summary>
    public long Scanned { get; private set; }
    /// <summary>Where the next record goes (this process's segment).</summary>
    public long End { get; set; }
    /// <summary>Writes reserved but not finished: the segment is not evicted under them.</summary>
    public int Pending { get; set; }
    /// <summary>Removed from the cache: its records are no longer indexed.</summary>
    public bool Gone { get; set; }
    /// <summary>The keys that were indexed here (some may since point elsewhere).</summary>
    public List<string> Keys { get; } = [];

    /// <summary>A read handle, opened on first use; shared by every reader (reads are positional).</summary>
    public SafeFileHandle Handle
    {
        get
        {
            if (_handle is { } h) return h;
            var opened = File.OpenHandle(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (Interlocked.CompareExchange(ref _handle, opened, null) is { } other)
            {
                opened.Dispose();
                return other;
            }
            return opened;
        }
    }

    public static CacheSegment Open(string path) => new(path);

    /// <summary>Creates this process's next segment in <paramref name="dir"/> (created if missing) with its file header.</summary>
    public static CacheSegment Create(string dir)
    {
        Directory.CreateDirectory(dir);
        int pid = Environment.ProcessId;
        string path = Path.Combine(dir, $"{DateTime.UtcNow.Ticks:x16}-{pid}-{Random.Shared.Next():x8}{Extension}");
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            Span<byte> header = stackalloc byte[SegmentFormat.FileHeaderLength];
            SegmentFormat.WriteFileHeader(header);
            RandomAccess.Write(handle, header, 0);
        }
        catch
        {
            handle.Dispose();
            try { File.Delete(path); } catch (IOException) { }
            throw;
        }
        var s = new CacheSegment(path) { _handle = handle, Own = true };
        s.End = s.Scanned = s.Size = SegmentFormat.FileHeaderLength;
        return s;
    }

    public void Close()
    {
        Interlocked.Exchange(ref _handle, null)?.Dispose();
    }

    /// <summary>
    /// Reads the records appended since the last scan (all of them the first time). False when the file is not (yet) a
    /// segment this version reads: no header yet (being created), another format version, or not a segment at all.
    /// </summary>
    public bool ScanNew(List<SegmentRecord> into, long maxDataLength)
    {
        var h = Handle;
        long length = RandomAccess.GetLength(h);
        byte[] buf = ArrayPool<byte>.Shared.Rent(SegmentFormat.RecordHeaderLength + SegmentFormat.MaxKeyLength);
        try
        {
            long pos = Scanned;
            if (pos == 0)
            {
                int n = Posix.PositionalRead.Fully(h, buf.AsSpan(0, SegmentFormat.FileHeaderLength), 0);
                if (SegmentFormat.FileVersion(buf.AsSpan(0, n)) != SegmentFormat.Version) return false;
                pos = SegmentFormat.FileHeaderLength;
            }
            while (pos + SegmentFormat.RecordHeaderLength <= length)
            {
                int want = (int)Math.Min(SegmentFormat.RecordHeaderLength + SegmentFormat.MaxKeyLength, length - pos);
                int n = Posix.PositionalRead.Fully(h, buf.AsSpan(0, want), pos);
                if (!SegmentFormat.TryParseRecord(buf.AsSpan(0, n), maxDataLength, out int keyLength, out int dataLength, out ushort flags)) break;
                long data = pos + SegmentFormat.RecordHeaderLength + keyLength;
                if (data + dataLength > length) break;
                string key = Encoding.UTF8.GetString(buf, SegmentFormat.RecordHeaderLength, keyLength);
                into.Add(new SegmentRecord(key, pos, data, dataLength, (flags & SegmentFormat.Dead) != 0));
                pos = data + dataLength;
            }
            Scanned = pos;
            Size = Math.Max(Size, length);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Every record of a segment file (for diagnostics and tests); empty when it is not one.</summary>
    public static IReadOnlyList<SegmentRecord> Records(string path, long maxDataLength = int.MaxValue)
    {
        var s = new CacheSegment(path);
        try
        {
            var list = new List<SegmentRecord>();
            return s.ScanNew(list, maxDataLength) ? list : [];
        }
        finally
        {
            s.Close();
        }
    }
}
