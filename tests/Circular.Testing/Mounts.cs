namespace Circular.Testing;

/// <summary>The mount table (/proc/self/mountinfo), loop mounts, and cleanup so a failing test never leaves a mount behind.</summary>
public static class Mounts
{
    /// <summary>Every mount point with its file system type, in mount order (a later one sits on top of an earlier one).</summary>
    public static List<(string Point, string Type)> All()
    {
        var mounts = new List<(string, string)>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "36 35 98:0 /mnt1 /mnt/x rw,noatime master:1 - ext3 /dev/root rw": field 5 is the mount point, the type
            // follows the "-" separator.
            var f = line.Split(' ');
            int dash = Array.IndexOf(f, "-", 6);
            if (f.Length > 4 && dash > 0 && dash + 1 < f.Length) mounts.Add((Unescape(f[4]), f[dash + 1]));
        }
        return mounts;
    }

    /// <summary>The type of the topmost file system mounted at <paramref name="path"/>, or null if it is not a mount point.</summary>
    public static string? TypeAt(string path)
    {
        string point = Normalize(path);
        return All().LastOrDefault(m => m.Point == point).Type;
    }

    public static bool IsMounted(string path) => TypeAt(path) is not null;

    public static bool IsFuse(string path) => TypeAt(path) is { } type && type.StartsWith("fuse", StringComparison.Ordinal);

    /// <summary>Loop-mounts an ext4 image file (read-only unless <paramref name="writable"/>).</summary>
    public static void Loop(string image, string dir, bool writable)
    {
        Directory.CreateDirectory(dir);
        Tools.Run("mount", "-t", "ext4", "-o", writable ? "loop" : "loop,ro", image, dir);
    }

    public static void Umount(string dir) => Tools.Run("umount", dir);

    /// <summary>Waits until nothing is mounted on <paramref name="dir"/>; fails the test after the timeout.</summary>
    public static async Task WaitUnmountedAsync(string dir, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsMounted(dir))
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"{dir} is still mounted after {timeout.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Best-effort teardown of everything mounted on or below <paramref name="root"/>, deepest (and topmost) first: a
    /// plain umount, else for FUSE fusermount3 -u -z, else a lazy umount.
    /// </summary>
    public static void UnmountUnder(string root)
    {
        string point = Normalize(root);
        var under = All()
            .Where(m => m.Point == point || m.Point.StartsWith(point + "/", StringComparison.Ordinal))
            .Reverse().OrderByDescending(m => m.Point.Length).ToList();
        foreach (var (target, type) in under)
        {
            if (BestEffort("umount", target)) continue;
            if (type.StartsWith("fuse", StringComparison.Ordinal) && BestEffort("fusermount3", "-u", "-z", target)) continue;
            BestEffort("umount", "-l", target);
        }
    }

    private static bool BestEffort(string tool, params string[] args)
    {
        try { return Tools.Try(TimeSpan.FromSeconds(10), tool, args).Code == 0; }
        catch (Exception) { return false; } // missing tool, or one that hung: cleanup goes on
    }

    private static string Normalize(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        return full.Length == 0 ? "/" : full;
    }

    /// <summary>The kernel writes space, tab, newline and backslash in mount paths as octal escapes.</summary>
    private static string Unescape(string s) => s.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
        .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
