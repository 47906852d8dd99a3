using System.Security.Cryptography;

namespace Circular.Cli.Tests.Support;

/// <summary>A temporary directory for one test class; removed on dispose.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("circ-cli-").FullName;

    private readonly Dictionary<string, string> _made = [];

    public string this[string name] => Path.Combine(Dir, name);

    /// <summary>Makes a file once per scratch directory (tests of one class share their input images).</summary>
    public string Once(string key, Func<string, string> make)
    {
        lock (_made)
        {
            if (!_made.TryGetValue(key, out var path)) _made[key] = path = make(this[key]);
            return path;
        }
    }

    /// <summary>A new archive made with `circular init`.</summary>
    public async Task<string> InitArchiveAsync(string name, params string[] options)
    {
        string a = this[name];
        (await CliProcess.RunAsync(["init", a, .. options])).Ok();
        return a;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Path and SHA-256 of every file under <paramref name="dir"/>: equal snapshots mean byte-for-byte equal trees.</summary>
    public static List<string> Snapshot(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Select(f => Path.GetRelativePath(dir, f) + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))
                .Order(StringComparer.Ordinal).ToList()
            : [];

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

    public static void AssertSameBytes(string expected, string actual) =>
        Assert.True(SameBytes(expected, actual), $"{actual} differs from {expected}");
}
