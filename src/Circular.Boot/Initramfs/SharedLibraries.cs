using System.Diagnostics;
using Circular.Core.Errors;

namespace Circular.Boot.Initramfs;

/// <summary>Which shared libraries a program needs at run time, as the system's dynamic loader resolves them (ldd).</summary>
public static class SharedLibraries
{
    /// <summary>
    /// Libraries .NET loads with dlopen, which ldd cannot see: OpenSSL (hashing and TLS: every HTTP client loads it) and
    /// zstd (the faster native codec). Without them `circular` cannot fetch anything.
    /// </summary>
    public static readonly string[] Dlopened = ["libssl.so.3", "libcrypto.so.3", "libzstd.so.1"];

    /// <summary>The absolute paths of every library <paramref name="programs"/> need, the loader included.</summary>
    public static IReadOnlyList<string> Resolve(IEnumerable<string> programs)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(programs);
        foreach (string lib in Dlopened) queue.Enqueue(Locate(lib));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (queue.Count > 0)
        {
            string file = queue.Dequeue();
            if (!seen.Add(file)) continue;
            foreach (string lib in Ldd(file))
                if (found.Add(lib)) queue.Enqueue(lib);
            if (!programs.Contains(file)) found.Add(file);
        }
        return found.ToList();
    }

    private static string Locate(string soname)
    {
        foreach (string dir in new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib" })
        {
            string p = Path.Combine(dir, soname);
            if (File.Exists(p)) return p;
        }
        string package = soname.StartsWith("libzstd", StringComparison.Ordinal) ? "libzstd1" : "libssl3";
        throw new NotFoundException($"{soname} is not installed, and the booted client needs it: apt-get install {package}");
    }

    /// <summary>The libraries ldd lists for one file (none for a static program).</summary>
    private static IEnumerable<string> Ldd(string file)
    {
        var psi = new ProcessStartInfo("ldd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(file);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new NotFoundException("ldd is not installed: apt-get install libc-bin"); }
        using (p)
        {
            string output = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            foreach (string raw in output.Split('\n'))
            {
                // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
                string line = raw.Trim();
                int arrow = line.IndexOf("=> ", StringComparison.Ordinal);
                string path = (arrow >= 0 ? line[(arrow + 3)..] : line).Split(' ')[0];
                if (path.StartsWith('/') && File.Exists(path)) yield return path;
            }
        }
    }
}
