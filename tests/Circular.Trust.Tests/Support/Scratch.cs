namespace Circular.Trust.Tests.Support;

/// <summary>A temporary directory for one test; removed on dispose.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("circ-trust-").FullName;

    public string this[string name] => Path.Combine(Dir, name);

    /// <summary>A client with its own trust state.</summary>
    public CliUser NewClient(string name = "client") => new(this[name + "-data"]);

    public static string RandomImage(string path, int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        File.WriteAllBytes(path, b);
        return path;
    }

    public static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
