namespace Circular.Testing;

/// <summary>Pseudo-random test data: the same length and seed always give the same bytes.</summary>
public static class RandomData
{
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Writes <see cref="Bytes"/> to <paramref name="path"/> (an image to push) and returns the path.</summary>
    public static string WriteFile(string path, int length, int seed)
    {
        File.WriteAllBytes(path, Bytes(length, seed));
        return path;
    }
}
