namespace Circular.Server.Tests.Support;

/// <summary>Temporary directories that nginx's unprivileged workers can read (mode 0755, files 0644).</summary>
public static class Scratch
{
    public static string NewDir(string prefix)
    {
        string dir = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(dir, ReadableDir);
        return dir;
    }

    private const UnixFileMode ReadableDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const UnixFileMode ReadableFile = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Makes a whole tree readable by anyone.</summary>
    public static void MakeReadable(string root)
    {
        File.SetUnixFileMode(root, ReadableDir);
        foreach (var d in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(d, ReadableDir);
        foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(f, ReadableFile);
    }

    public static void Delete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
