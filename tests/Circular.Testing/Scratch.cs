using System.Runtime.Versioning;

namespace Circular.Testing;

/// <summary>
/// A temporary directory for one test or one test class (it serves as a class fixture). On dispose everything mounted
/// on or below it (loop, tmpfs or FUSE mounts a failing test left behind) is unmounted first, then it is removed.
/// </summary>
public sealed class Scratch : IDisposable
{
    private readonly Dictionary<string, string> _made = [];

    public string Dir { get; } = Directory.CreateTempSubdirectory("circ-test-").FullName;

    public string this[string name] => Path.Combine(Dir, name);

    /// <summary>Creates the directory <paramref name="name"/> inside this one and returns its path.</summary>
    public string NewDir(string name) => Directory.CreateDirectory(this[name]).FullName;

    /// <summary>Makes <paramref name="key"/> once per scratch directory (tests of one class share their inputs) and returns its path.</summary>
    public string Once(string key, Func<string, string> make)
    {
        lock (_made)
        {
            if (!_made.TryGetValue(key, out var path)) _made[key] = path = make(this[key]);
            return path;
        }
    }

    public void Dispose() => Delete(Dir);

    /// <summary>
    /// A new temporary directory that nginx's unprivileged workers can read (mode 0755), for tests that manage its
    /// lifetime themselves: remove it with <see cref="Delete"/>.
    /// </summary>
    [SupportedOSPlatform("linux")]
    public static string NewReadableDir(string prefix)
    {
        string dir = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(dir, ReadableDir);
        return dir;
    }

    /// <summary>Makes a whole tree readable by anyone (directories 0755, files 0644).</summary>
    [SupportedOSPlatform("linux")]
    public static void MakeReadable(string root)
    {
        File.SetUnixFileMode(root, ReadableDir);
        foreach (var d in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(d, ReadableDir);
        foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(f, ReadableFile);
    }

    /// <summary>Copies a directory tree (an archive, to damage or serve the copy), overwriting what is there.</summary>
    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
    }

    /// <summary>Best-effort removal: unmounts everything on or below <paramref name="dir"/>, then deletes the tree.</summary>
    public static void Delete(string dir)
    {
        Mounts.UnmountUnder(dir);
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { } // gone already, or a mount that refused to go
        catch (UnauthorizedAccessException) { }
    }

    private const UnixFileMode ReadableDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const UnixFileMode ReadableFile = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
}
