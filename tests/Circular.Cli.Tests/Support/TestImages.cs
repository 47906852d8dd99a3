namespace Circular.Cli.Tests.Support;

/// <summary>Builds the images the tests push besides random ones: sparse (holes plus a few written regions) and real ext4.</summary>
public static class TestImages
{
    /// <summary>Low-entropy bytes: compressible, but every block different.</summary>
    public static byte[] TextBytes(int length, int seed)
    {
        var b = new byte[length];
        var rng = new Random(seed);
        for (int i = 0; i < length; i++) b[i] = (byte)('a' + rng.Next(16));
        return b;
    }

    /// <summary>A file of <paramref name="size"/> bytes that is all holes except the given written regions.</summary>
    public static string Sparse(string path, long size, params (long Offset, int Length)[] regions)
    {
        using var h = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        RandomAccess.SetLength(h, size);
        int seed = 100;
        foreach (var (off, len) in regions) RandomAccess.Write(h, TextBytes(len, seed++), off);
        return path;
    }

    /// <summary>A directory tree of files with random and text content, about <paramref name="bytes"/> in total.</summary>
    public static string Tree(string dir, int bytes, int seed)
    {
        Directory.CreateDirectory(Path.Combine(dir, "etc"));
        Directory.CreateDirectory(Path.Combine(dir, "usr", "lib"));
        var rng = new Random(seed);
        int written = 0, i = 0;
        while (written < bytes)
        {
            int len = rng.Next(1, 400_000);
            string sub = i % 3 == 0 ? "etc" : Path.Combine("usr", "lib");
            File.WriteAllBytes(Path.Combine(dir, sub, $"f{i:D3}"), i % 2 == 0 ? RandomData.Bytes(len, seed + i) : TextBytes(len, seed + i));
            written += len;
            i++;
        }
        File.WriteAllText(Path.Combine(dir, "etc", "hostname"), "circular-test\n");
        return dir;
    }

    /// <summary>An ext4 image built by mkfs.ext4 -d from a directory (needs e2fsprogs).</summary>
    /// <summary>An ext4 image of <paramref name="fromDir"/> (mkfs.ext4 -d). mke2fs picks 1 KiB blocks below 512 MiB;
    /// <paramref name="blockSize"/> 4096 gives the 4 KiB blocks of real root file systems.</summary>
    public static string Ext4(string path, string fromDir, string size, int? blockSize = null)
    {
        string[] args = ["-q", "-F", "-E", "root_owner=0:0", .. blockSize is { } b ? new[] { "-b", b.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [], "-d", fromDir, path, size];
        Tools.Run("mkfs.ext4", args);
        return path;
    }

    /// <summary>Replaces one file inside an ext4 image in place with debugfs -w (rm, then write).</summary>
    public static void ReplaceFileInExt4(string image, string pathInFs, string hostFile)
    {
        Tools.Run("debugfs", "-w", "-R", $"rm {pathInFs}", image);
        Tools.Run("debugfs", "-w", "-R", $"write {hostFile} {pathInFs}", image);
    }
}
