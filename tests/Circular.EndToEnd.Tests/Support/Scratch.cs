using System.Security.Cryptography;

namespace Circular.EndToEnd.Tests.Support;

/// <summary>A temporary directory; on dispose everything mounted under it is unmounted, then it is removed.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("circ-e2e-").FullName;

    public string this[string name] => Path.Combine(Dir, name);

    public string NewDir(string name) => Directory.CreateDirectory(this[name]).FullName;

    public void Dispose()
    {
        Mounts.CleanUnder(Dir);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class Files
{
    /// <summary>Relative path and SHA-256 of every regular file under a directory (lost+found excluded).</summary>
    public static List<string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(f => Path.GetRelativePath(dir, f))
            .Where(r => !r.StartsWith("lost+found", StringComparison.Ordinal))
            .Select(r => r + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, r)))))
            .Order(StringComparer.Ordinal).ToList();

    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }

    public static void AssertSameBytes(string expected, string actual)
    {
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(actual).Length);
        Assert.True(Sha256(expected) == Sha256(actual), $"{actual} differs from {expected}");
    }
}
