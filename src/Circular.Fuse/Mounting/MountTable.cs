using System.Text;

namespace Circular.Fuse.Mounting;

/// <summary>Reads /proc/self/mountinfo: is something mounted at a path, and what.</summary>
internal static class MountTable
{
    /// <summary>The file system type mounted at <paramref name="path"/> (the topmost one), or null if it is not a mount point.</summary>
    public static string? FileSystemAt(string path)
    {
        string? type = null;
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "36 35 98:0 /mnt1 /mnt/x rw,noatime master:1 - ext3 /dev/root rw": field 5 is the mount point,
            // the type follows the " - " separator. Later lines are mounted on top of earlier ones.
            var fields = line.Split(' ');
            if (fields.Length < 5 || Unescape(fields[4]) != path) continue;
            int dash = Array.IndexOf(fields, "-", 6);
            type = dash > 0 && dash + 1 < fields.Length ? fields[dash + 1] : "?";
        }
        return type;
    }

    /// <summary>The kernel writes space, tab, newline and backslash in mount paths as \ooo octal escapes.</summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var bytes = new List<byte>(field.Length);
        var raw = Encoding.UTF8.GetBytes(field);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && i + 3 < raw.Length && IsOctal(raw[i + 1]) && IsOctal(raw[i + 2]) && IsOctal(raw[i + 3]))
            {
                bytes.Add((byte)((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0')));
                i += 3;
            }
            else bytes.Add(raw[i]);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The inverse of <see cref="Unescape"/>, for matching /proc/mounts lines in the watchdog script.</summary>
    public static string Escape(string path) =>
        path.Replace("\\", "\\134").Replace(" ", "\\040").Replace("\t", "\\011").Replace("\n", "\\012");

    private static bool IsOctal(byte b) => b is >= (byte)'0' and <= (byte)'7';
}
