using System.ComponentModel;
using System.Diagnostics;

namespace Circular.EndToEnd.Tests.Support;

/// <summary>
/// Runs external tools (qemu-img, nbdinfo, mount, ...). A missing tool fails the test naming the package to
/// install (scripts/install-deps.sh installs them all): these tests never skip.
/// </summary>
public static class Tools
{
    private static readonly Dictionary<string, string> s_packages = new() {
        ["mkfs.ext4"] = "e2fsprogs",
        ["debugfs"] = "e2fsprogs",
        ["qemu-img"] = "qemu-utils",
        ["qemu-io"] = "qemu-utils",
        ["nbdinfo"] = "libnbd-bin",
        ["nbdcopy"] = "libnbd-bin",
        ["fusermount3"] = "fuse3",
        ["qemu-system-x86_64"] = "qemu-system-x86",
    };

    /// <summary>Runs a tool and returns its result whatever the exit code.</summary>
    public static RunResult Try(string tool, params string[] args) => TryWithin(TimeSpan.FromSeconds(60), tool, args);

    public static RunResult TryWithin(TimeSpan timeout, string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin";
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Win32Exception e)
        {
            string pkg = s_packages.TryGetValue(tool, out var n) ? n : tool;
            throw new Xunit.Sdk.XunitException($"{tool} is needed by this test but cannot be run ({e.Message}); install it: apt-get install {pkg}");
        }
        using (p)
        {
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds} s");
            }
            p.WaitForExit();
            return new RunResult($"{tool} {string.Join(' ', args)}", p.ExitCode, output.Result, err.Result);
        }
    }

    /// <summary>Runs a tool that must succeed; returns stdout.</summary>
    public static string Run(string tool, params string[] args) => Try(tool, args).Ok().Out;

    /// <summary>Checks every tool a test needs up front (so a missing one fails loudly, never skips).</summary>
    public static void Require(params string[] tools)
    {
        string path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin";
        foreach (var t in tools)
            if (!path.Split(':').Any(d => File.Exists(Path.Combine(d, t))))
                throw new Xunit.Sdk.XunitException($"{t} is needed by this test but is not installed; run scripts/install-deps.sh (package {(s_packages.TryGetValue(t, out var n) ? n : t)})");
    }
}
