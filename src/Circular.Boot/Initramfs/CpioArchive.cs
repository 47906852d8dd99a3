using System.Text;

namespace Circular.Boot.Initramfs;

/// <summary>
/// Writes a cpio archive in the "newc" format the kernel unpacks as an initramfs (Documentation/driver-api/
/// early-userspace/buffer-format.rst): a 110-byte ASCII header per entry, name and data each padded to 4 bytes,
/// ended by "TRAILER!!!". Entries are written in the order added, so directories must come before their contents.
/// </summary>
public sealed class CpioArchive
{
    private readonly MemoryStream _out = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _inode = 1;
    private const uint Directory = 0x4000, RegularFile = 0x8000, Symlink = 0xa000, CharDevice = 0x2000;

    public long Length => _out.Length;

    public void AddDirectory(string path, uint mode = 0x1ed /* 0755 */)
    {
        if (!Contains(path)) Add(path, Directory | mode, [], 0, 0);
    }

    public void AddFile(string path, ReadOnlySpan<byte> content, uint mode = 0x1a4 /* 0644 */) => Add(path, RegularFile | mode, content, 0, 0);

    public void AddSymlink(string path, string target) => Add(path, Symlink | 0x1ff, Encoding.UTF8.GetBytes(target), 0, 0);

    /// <summary>A character device node (the kernel needs /dev/console before devtmpfs is mounted).</summary>
    public void AddCharDevice(string path, uint major, uint minor, uint mode = 0x180 /* 0600 */) => Add(path, CharDevice | mode, [], major, minor);

    public bool Contains(string path) => _names.Contains(Normalize(path));

    private void Add(string path, uint mode, ReadOnlySpan<byte> data, uint rdevMajor, uint rdevMinor)
    {
        string name = Normalize(path);
        foreach (string parent in Parents(path))
            if (_names.Add(parent)) Write(parent, Directory | 0x1ed, [], 0, 0);
        if (!_names.Add(name)) throw new InvalidOperationException($"{name} is already in the archive");
        Write(name, mode, data, rdevMajor, rdevMinor);
    }

    private static string Normalize(string path) => path.Trim('/');

    private static IEnumerable<string> Parents(string path)
    {
        var parts = Normalize(path).Split('/');
        for (int i = 1; i < parts.Length; i++) yield return string.Join('/', parts[..i]);
    }

    private void Write(string name, uint mode, ReadOnlySpan<byte> data, uint rdevMajor, uint rdevMinor)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var header = new StringBuilder("070701");
        foreach (uint field in new uint[] {
            (uint)_inode++, mode, 0 /* uid */, 0 /* gid */, (mode & 0xf000) == Directory ? 2u : 1u /* nlink */,
            0 /* mtime: reproducible images */, (uint)data.Length, 0, 0 /* dev major, minor */, rdevMajor, rdevMinor,
            (uint)nameBytes.Length, 0 /* check */ })
            header.Append(field.ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
        _out.Write(Encoding.ASCII.GetBytes(header.ToString()));
        _out.Write(nameBytes);
        Pad();
        _out.Write(data);
        Pad();
    }

    private void Pad()
    {
        while (_out.Length % 4 != 0) _out.WriteByte(0);
    }

    /// <summary>The finished archive (the trailer entry appended).</summary>
    public byte[] ToArray()
    {
        Write("TRAILER!!!", 0, [], 0, 0);
        return _out.ToArray();
    }
}
