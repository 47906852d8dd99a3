using System.Collections;
using Circular.Core.Errors;
using Circular.Imaging.Images;
using Circular.Storage.Posix;
using Microsoft.Win32.SafeHandles;

namespace Circular.Imaging.Overlay;

/// <summary>
/// Copy-on-write over a read-only image: writes go to a local sparse data file, never to the archive; a bitmap of
/// written 4 KiB blocks says where each block lives. Written data and the map are made durable on FLUSH (and on
/// close), so after a restart the overlay holds every write that was flushed.
/// An overlay directory is used by one process at a time (flock).
/// </summary>
public sealed class OverlayImage : IBlockImage
{
    public const int BlockSize = 4096;
    private readonly IBlockImage _base;
    private readonly string _dir;
    private readonly SafeFileHandle _data;
    private readonly BitArray _map;
    private readonly FileLock? _lock;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _mapDirty;

    private OverlayImage(IBlockImage baseImage, string dir, SafeFileHandle data, BitArray map, FileLock? fileLock, OverlayState state)
    {
        _base = baseImage;
        _dir = dir;
        _data = data;
        _map = map;
        _lock = fileLock;
        State = state;
    }

    public OverlayState State { get; }
    public long Size => _base.Size;
    public bool IsWritable => _lock is not null;
    public IBlockImage Base => _base;

    /// <summary>Opens or creates the overlay in <paramref name="dir"/> over <paramref name="baseImage"/>.</summary>
    /// <param name="snapshotIfBusy">
    /// When another process has the overlay open, open a read-only view of what it last flushed instead of failing
    /// (commit of a running server's overlay); <see cref="IsSnapshot"/> then says so.
    /// </param>
    public static async Task<OverlayImage> OpenAsync(string dir, IVersionImage baseImage, string baseDigest, CancellationToken ct, bool snapshotIfBusy = false)
    {
        Directory.CreateDirectory(dir);
        FileLock? fileLock = null;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            cts.CancelAfter(TimeSpan.FromSeconds(2));
            try { fileLock = await FileLock.AcquireAsync(Path.Combine(dir, "lock"), exclusive: true, cts.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                if (!snapshotIfBusy) throw new CircularException($"overlay {dir} is in use by another process");
            }
        }
        try
        {
            string statePath = Path.Combine(dir, "overlay.json");
            OverlayState state;
            if (File.Exists(statePath))
            {
                state = OverlayState.Parse(await File.ReadAllBytesAsync(statePath, ct).ConfigureAwait(false), statePath);
                if (state.BaseManifest != baseDigest)
                    throw new CircularException($"overlay {dir} holds changes to {state.Image}@{state.BaseVersion}, not to {baseImage.Name}: " +
                        "commit it or choose another --overlay directory");
            }
            else if (fileLock is null)
            {
                throw new NotFoundException($"no overlay in {dir}");
            }
            else
            {
                // overlay.json is the overlay's commit point: written first when it is created, deleted first when it
                // is committed. A map or data left without it (a commit killed while deleting) belongs to no base, so
                // it is cleared before the new overlay.json is written, never read as writes over this version.
                File.Delete(Path.Combine(dir, "map"));
                File.Delete(Path.Combine(dir, "data"));
                var meta = baseImage.Manifest.Metadata;
                state = new OverlayState { Image = meta.Image, BaseVersion = meta.Version, BaseManifest = baseDigest, Size = baseImage.Size, Created = DateTimeOffset.UtcNow };
                WriteAtomic(statePath, state.Serialize());
            }
            var data = fileLock is null
                ? File.OpenHandle(Path.Combine(dir, "data"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite)
                : File.OpenHandle(Path.Combine(dir, "data"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
            if (fileLock is not null && RandomAccess.GetLength(data) != state.Size) RandomAccess.SetLength(data, state.Size);
            long blocks = (state.Size + BlockSize - 1) / BlockSize;
            var map = new BitArray(checked((int)blocks));
            string mapPath = Path.Combine(dir, "map");
            if (File.Exists(mapPath))
            {
                byte[] bits = await File.ReadAllBytesAsync(mapPath, ct).ConfigureAwait(false);
                if (bits.Length != (blocks + 7) / 8) throw new ArchiveFormatException($"overlay map {mapPath} has the wrong size");
                map = new BitArray(bits) { Length = (int)blocks };
            }
            return new OverlayImage(baseImage, dir, data, map, fileLock, state);
        }
        catch
        {
            fileLock?.Dispose();
            throw;
        }
    }

    /// <summary>True for a read-only view of an overlay another process holds open.</summary>
    public bool IsSnapshot => _lock is null;

    /// <summary>True when any byte in [offset, offset+length) was written.</summary>
    public bool IsWritten(long offset, long length)
    {
        for (long b = offset / BlockSize; b * BlockSize < offset + length && b < _map.Length; b++)
            if (_map[(int)b]) return true;
        return false;
    }

    public bool HasChanges
    {
        get
        {
            for (int i = 0; i < _map.Length; i++) if (_map[i]) return true;
            return false;
        }
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        // Split into runs of blocks that live in the same place.
        while (buffer.Length > 0)
        {
            long block = offset / BlockSize;
            bool written = _map[(int)block];
            long runEnd = (block + 1) * BlockSize;
            while (runEnd < offset + buffer.Length && _map[(int)(runEnd / BlockSize)] == written) runEnd += BlockSize;
            int take = (int)Math.Min(buffer.Length, runEnd - offset);
            var part = buffer[..take];
            if (written) await ReadDataAsync(offset, part, ct).ConfigureAwait(false);
            else await _base.ReadAsync(offset, part, ct).ConfigureAwait(false);
            buffer = buffer[take..];
            offset += take;
        }
    }

    private async ValueTask ReadDataAsync(long offset, Memory<byte> part, CancellationToken ct)
    {
        int done = 0;
        while (done < part.Length)
        {
            int n = await RandomAccess.ReadAsync(_data, part[done..], offset + done, ct).ConfigureAwait(false);
            if (n == 0) { part.Span[done..].Clear(); break; }
            done += n;
        }
    }

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (IsSnapshot) throw new ReadOnlyImageException($"overlay {_dir} is open read-only (another process holds it)");
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Partial blocks at the edges are completed with the current content first (copy on write).
            long end = offset + data.Length;
            if (offset % BlockSize != 0 || end - offset < BlockSize && end < Size) await FillPartialBlockAsync(offset, ct).ConfigureAwait(false);
            if (end % BlockSize != 0 && end < Size) await FillPartialBlockAsync(end - 1, ct).ConfigureAwait(false);
            await RandomAccess.WriteAsync(_data, data, offset, ct).ConfigureAwait(false);
            Mark(offset, data.Length);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask FillPartialBlockAsync(long offset, CancellationToken ct)
    {
        long block = offset / BlockSize;
        if (block >= _map.Length || _map[(int)block]) return;
        long start = block * BlockSize;
        int len = (int)Math.Min(BlockSize, Size - start);
        byte[] buf = new byte[len];
        await _base.ReadAsync(start, buf, ct).ConfigureAwait(false);
        await RandomAccess.WriteAsync(_data, buf, start, ct).ConfigureAwait(false);
        _map[(int)block] = true;
        _mapDirty = true;
    }

    private void Mark(long offset, long length)
    {
        for (long b = offset / BlockSize; b * BlockSize < offset + length; b++) _map[(int)b] = true;
        _mapDirty = true;
    }

    public async ValueTask WriteZeroesAsync(long offset, long length, CancellationToken ct)
    {
        byte[] zeros = new byte[(int)Math.Min(length, 1 << 20)];
        for (long done = 0; done < length; done += zeros.Length)
            await WriteAsync(offset + done, zeros.AsMemory(0, (int)Math.Min(zeros.Length, length - done)), ct).ConfigureAwait(false);
    }

    public async ValueTask FlushAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_mapDirty) return;
            RandomAccess.FlushToDisk(_data); // data before the map that points at it
            byte[] bits = new byte[(_map.Length + 7) / 8];
            _map.CopyTo(bits, 0);
            WriteAtomic(Path.Combine(_dir, "map"), bits);
            _mapDirty = false;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async ValueTask<IReadOnlyList<Extent>> GetExtentsAsync(long offset, long length, CancellationToken ct)
    {
        if (!IsWritten(offset, length)) return await _base.GetExtentsAsync(offset, length, ct).ConfigureAwait(false);
        // Written blocks are reported as data; elsewhere defer to the base one block run at a time.
        long end = Math.Min(Size, offset + length);
        long block = offset / BlockSize;
        if (_map[(int)block])
        {
            long runEnd = (block + 1) * BlockSize;
            while (runEnd < end && _map[(int)(runEnd / BlockSize)]) runEnd += BlockSize;
            return [new Extent(offset, Math.Min(Size, runEnd) - offset, false)];
        }
        long stop = (block + 1) * BlockSize;
        while (stop < end && !_map[(int)(stop / BlockSize)]) stop += BlockSize;
        var baseExtents = await _base.GetExtentsAsync(offset, Math.Min(stop, end) - offset, ct).ConfigureAwait(false);
        var clipped = new List<Extent>();
        foreach (var e in baseExtents)
        {
            long eEnd = Math.Min(e.Offset + e.Length, stop);
            if (eEnd > e.Offset) clipped.Add(e with { Length = eEnd - e.Offset });
            if (eEnd >= stop) break;
        }
        return clipped;
    }

    public ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => _base.PrefetchAsync(offset, length, ct);

    public async ValueTask DisposeAsync()
    {
        try { await FlushAsync(CancellationToken.None).ConfigureAwait(false); }
        finally
        {
            _data.Dispose();
            _lock?.Dispose();
            _writeLock.Dispose();
        }
    }

    private static void WriteAtomic(string path, byte[] bytes) => AtomicFile.Write(path, bytes, durable: true);
}
