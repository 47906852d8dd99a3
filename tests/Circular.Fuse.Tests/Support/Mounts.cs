using Circular.Fuse.Mounting;

namespace Circular.Fuse.Tests.Support;

/// <summary>Inspecting and cleaning up mounts, so a failing test never leaves one behind.</summary>
internal static class Mounts
{
    public static string? TypeAt(string path) => MountTable.FileSystemAt(path);

    public static bool IsFuse(string path) => TypeAt(path) is { } type && type.StartsWith("fuse", StringComparison.Ordinal);

    /// <summary>Lazily unmounts every mount at or below <paramref name="root"/>, deepest first.</summary>
    public static void ForceUnmountUnder(string root)
    {
        var targets = File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(f => f.Length > 4)
            .Select(f => MountTable.Unescape(f[4]))
            .Where(p => p == root || p.StartsWith(root + "/", StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(p => p.Length);
        foreach (var target in targets)
        {
            try
            {
                Shell.RunWithTimeout(TimeSpan.FromSeconds(10), "umount", "-l", target);
            }
            catch (Exception)
            {
                // Best effort during cleanup.
            }
        }
    }
}
