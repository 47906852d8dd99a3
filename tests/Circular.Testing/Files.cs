using System.Security.Cryptography;

namespace Circular.Testing;

/// <summary>Comparing files and trees byte for byte.</summary>
public static class Files
{
    /// <summary>
    /// Relative path and SHA-256 of every file under <paramref name="dir"/> (none when it does not exist; a file
    /// system's lost+found left out): equal snapshots mean byte-for-byte equal trees.
    /// </summary>
    public static List<string> Snapshot(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Select(f => Path.GetRelativePath(dir, f))
                .Where(r => !r.StartsWith("lost+found/", StringComparison.Ordinal))
                .Select(r => r + " " + Sha256(Path.Combine(dir, r)))
                .Order(StringComparer.Ordinal).ToList()
            : [];

    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }

    public static bool SameBytes(string a, string b)
    {
        using var fa = File.OpenRead(a);
        using var fb = File.OpenRead(b);
        if (fa.Length != fb.Length) return false;
        var ba = new byte[1 << 20];
        var bb = new byte[1 << 20];
        while (true)
        {
            int na = fa.ReadAtLeast(ba, ba.Length, throwOnEndOfStream: false);
            int nb = fb.ReadAtLeast(bb, bb.Length, throwOnEndOfStream: false);
            if (na != nb || !ba.AsSpan(0, na).SequenceEqual(bb.AsSpan(0, nb))) return false;
            if (na == 0) return true;
        }
    }

    public static void AssertSameBytes(string expected, string actual)
    {
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(actual).Length);
        Assert.True(SameBytes(expected, actual), $"{actual} differs from {expected}");
    }

    /// <summary>Bytes the file system allocated to a file (st_blocks * 512): what a sparse file really takes.</summary>
    public static long AllocatedBytes(string path) => long.Parse(Tools.Run("stat", "-c", "%b", path).Trim()) * 512;
}
