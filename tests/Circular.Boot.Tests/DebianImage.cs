using System.Diagnostics;

namespace Circular.Boot.Tests;

/// <summary>
/// A real Debian root file system with systemd, made with debootstrap from the mirror this machine's apt uses: a 1 GiB
/// ext4 image whose fstab names the root by UUID (as real images do) and whose circular-ready.service prints
/// CIRC-DEBIAN-READY and powers off. Built once per machine into /var/tmp (a few minutes), reused afterwards.
/// </summary>
public static class DebianImage
{
    public const string Marker = "CIRC-DEBIAN-READY";
    private const string Cache = "/var/tmp/circular-test-debian";
    private static readonly SemaphoreSlim s_gate = new(1, 1);

    public static async Task<string> GetAsync()
    {
        string image = Path.Combine(Cache, "debian.img");
        await s_gate.WaitAsync();
        try
        {
            if (File.Exists(image)) return image;
            Directory.CreateDirectory(Cache);
            string root = Path.Combine(Cache, "rootfs");
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            string mirror = Mirror();
            var strap = await Tools.TryAsync(TimeSpan.FromMinutes(20), null, "debootstrap", "--variant=minbase", "--include=systemd,systemd-sysv,udev",
                "bookworm", root, mirror);
            if (strap.Code != 0) throw new Xunit.Sdk.XunitException($"debootstrap from {mirror} failed: {strap.Err.Split('\n').LastOrDefault(l => l.Length > 0)}");
            const string uuid = "5eed0c1a-c0de-4b3a-8e2f-000000000012";
            File.WriteAllText(Path.Combine(root, "etc", "fstab"), $"UUID={uuid} / ext4 errors=remount-ro 0 1\n");
            File.WriteAllText(Path.Combine(root, "etc", "hostname"), "circular-debian\n");
            File.WriteAllText(Path.Combine(root, "etc", "machine-id"), "5eed0c1ac0de4b3a8e2f000000000012\n");
            string unit = Path.Combine(root, "etc", "systemd", "system", "circular-ready.service");
            File.WriteAllText(unit, $"""
                [Unit]
                Description=Print the test's ready marker and power off
                After=multi-user.target

                [Service]
                Type=oneshot
                ExecStart=/bin/sh -c 'echo; echo {Marker}; echo'
                StandardOutput=tty
                TTYPath=/dev/ttyS0
                ExecStartPost=/bin/systemctl poweroff --no-block

                [Install]
                WantedBy=multi-user.target
                """);
            string wants = Directory.CreateDirectory(Path.Combine(root, "etc", "systemd", "system", "multi-user.target.wants")).FullName;
            File.CreateSymbolicLink(Path.Combine(wants, "circular-ready.service"), "/etc/systemd/system/circular-ready.service");
            string tmp = image + ".tmp";
            using (var f = File.Create(tmp)) f.SetLength(1L << 30);
            Tools.Run("mkfs.ext4", "-q", "-F", "-U", uuid, "-L", "debian-root", "-d", root, tmp);
            File.Move(tmp, image);
            Directory.Delete(root, recursive: true);
            return image;
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>
    /// The Debian mirror this machine's apt already uses for bookworm (one-line .list or deb822 .sources files; other
    /// repositories and disabled files are skipped): never a hard-coded host.
    /// </summary>
    private static string Mirror()
    {
        var files = new[] { "/etc/apt/sources.list" }
            .Concat(Directory.Exists("/etc/apt/sources.list.d") ? Directory.GetFiles("/etc/apt/sources.list.d") : [])
            .Where(f => File.Exists(f) && (f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)));
        foreach (string file in files)
        {
            string text = File.ReadAllText(file);
            // One-line format: deb [options] URI SUITE COMPONENTS
            foreach (string line in text.Split('\n'))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                int uri = Array.FindIndex(f, w => w.StartsWith("http", StringComparison.Ordinal));
                if (f.Length > 0 && f[0] == "deb" && uri > 0 && uri + 1 < f.Length && f[uri + 1] == "bookworm") return f[uri];
            }
            // deb822: stanzas separated by blank lines, with URIs: and Suites: fields.
            foreach (string stanza in text.Split("\n\n"))
            {
                var fields = stanza.Split('\n').Where(l => !l.StartsWith('#')).Select(l => l.Split(':', 2)).Where(kv => kv.Length == 2)
                    .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
                if (fields.TryGetValue("Suites", out var suites) && suites.Split(' ').Contains("bookworm") && fields.TryGetValue("URIs", out var uris))
                    return uris.Split(' ')[0];
            }
        }
        throw new Xunit.Sdk.XunitException("no Debian bookworm mirror in this machine's apt sources: debootstrap needs one");
    }
}
