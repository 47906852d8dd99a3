using System.ComponentModel;
using System.Diagnostics;

namespace Circular.Cli.Tests.Support;

/// <summary>
/// Runs external tools (mkfs.ext4, debugfs, qemu-img, stat). A missing tool fails the test with the package to
/// install: these tests never skip.
/// </summary>
public static class Tools
{
    private static readonly Dictionary<string, string> s_packages = new() {
        ["mkfs.ext4"] = "e2fsprogs",
        ["debugfs"] = "e2fsprogs",
        ["qemu-img"] = "qemu-utils",
        ["nbdcopy"] = "libnbd-bin",
    };

    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Win32Exception e)
        {
            string pkg = s_packages.TryGetValue(tool, out var n) ? n : tool;
            throw new Xunit.Sdk.XunitException($"{tool} is needed by this test but cannot be run ({e.Message}); install it: apt-get install {pkg}");
        }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {err.Result}");
            return output + err.Result;
        }
    }

    /// <summary>Bytes the file system allocated to a file (st_blocks * 512).</summary>
    public static long AllocatedBytes(string path) => long.Parse(Run("stat", "-c", "%b", path).Trim()) * 512;
}
