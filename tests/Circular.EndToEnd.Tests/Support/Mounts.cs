namespace Circular.EndToEnd.Tests.Support;

/// <summary>Mount table queries and cleanup (loop mounts, FUSE mounts).</summary>
public static class Mounts
{
    /// <summary>Mount points currently in the mount table, with their file system types.</summary>
    public static List<(string Point, string Type)> All() =>
        File.ReadAllLines("/proc/self/mountinfo").Select(l =>
        {
            var f = l.Split(' ');
            int dash = Array.IndexOf(f, "-");
            return (Unescape(f[4]), f[dash + 1]);
        }).ToList();

    private static string Unescape(string s) => s.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
        .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    public static bool IsMounted(string dir) => All().Any(m => m.Point == Path.GetFullPath(dir).TrimEnd('/'));

    /// <summary>Loop-mounts an image file (read-only unless <paramref name="writable"/>).</summary>
    public static void Loop(string image, string dir, bool writable)
    {
        Directory.CreateDirectory(dir);
        Tools.Run("mount", "-t", "ext4", "-o", writable ? "loop" : "loop,ro", image, dir);
    }

    public static void Umount(string dir) => Tools.Run("umount", dir);

    /// <summary>Waits until nothing is mounted on <paramref name="dir"/>.</summary>
    public static async Task WaitUnmountedAsync(string dir, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsMounted(dir))
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"{dir} is still mounted after {timeout.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    /// <summary>Best-effort teardown of everything mounted under <paramref name="root"/>, deepest first.</summary>
    public static void CleanUnder(string root)
    {
        string prefix = Path.GetFullPath(root).TrimEnd('/') + "/";
        foreach (var (point, type) in All().Where(m => m.Point.StartsWith(prefix, StringComparison.Ordinal)).OrderByDescending(m => m.Point.Length))
        {
            if (Tools.Try("umount", point).Code == 0) continue;
            if (type.StartsWith("fuse", StringComparison.Ordinal)) Tools.Try("fusermount3", "-u", "-z", point);
            Tools.Try("umount", "-l", point);
        }
    }
}
