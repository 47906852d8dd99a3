using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Signing;

namespace Circular.Boot.Initramfs;

/// <summary>What an initramfs holds and how large it is, for the command's report.</summary>
public sealed record InitramfsReport(string KernelVersion, int Modules, long Unpacked, long Compressed, IReadOnlyList<string> MissingModules);

/// <summary>
/// Builds the Circular initramfs (docs/inetboot.md): busybox, the native `circular` and the libraries it loads, CA
/// certificates, the kernel modules for network cards and root devices with their dependencies, trusted keys, and an
/// /init that runs `circular netroot`. A newc cpio archive, compressed with zstd or gzip.
/// </summary>
public static class InitramfsBuilder
{
    public static InitramfsReport Build(InitramfsOptions options, Stream output)
    {
        var modules = KernelModules.Load(options.ModuleTree);
        if (!File.Exists(options.Busybox) || !IsStatic(options.Busybox))
            throw new NotFoundException($"a statically linked busybox is needed at {options.Busybox}: apt-get install busybox-static");
        if (!File.Exists(options.Circular)) throw new NotFoundException($"{options.Circular} does not exist");

        var cpio = new CpioArchive();
        foreach (string dir in new[] { "dev", "proc", "sys", "run", "tmp", "newroot", "root", "etc", "sbin", "bin", "lib", "lib64", "usr" })
            cpio.AddDirectory(dir);
        // The kernel opens /dev/console for init before anything is mounted.
        cpio.AddCharDevice("dev/console", 5, 1);
        cpio.AddCharDevice("dev/null", 1, 3, 0x1b6);

        cpio.AddFile("init", Resource("init"), 0x1ed);
        cpio.AddFile("etc/udhcpc/default.script", Resource("udhcpc.script"), 0x1ed);
        cpio.AddFile("bin/busybox", File.ReadAllBytes(options.Busybox), 0x1ed);
        foreach (string applet in Applets(options.Busybox))
            if (applet != "busybox" && !cpio.Contains("bin/" + applet)) cpio.AddSymlink("bin/" + applet, "busybox");
        // The kernel asks /sbin/modprobe for modules it needs on its own (a crc32c implementation for ext4).
        cpio.AddSymlink("sbin/modprobe", "../bin/busybox");
        cpio.AddFile("bin/circular", File.ReadAllBytes(options.Circular), 0x1ed);

        foreach (string lib in SharedLibraries.Resolve([options.Circular]))
            cpio.AddFile(lib.TrimStart('/'), File.ReadAllBytes(lib), 0x1ed);
        const string certs = "/etc/ssl/certs/ca-certificates.crt";
        if (!File.Exists(certs)) throw new NotFoundException($"{certs} is missing (the client checks https mirrors with it): apt-get install ca-certificates");
        cpio.AddFile(certs.TrimStart('/'), File.ReadAllBytes(certs));

        foreach (string keyFile in options.TrustKeys)
        {
            var key = VerifyingKey.Load(keyFile);
            cpio.AddFile($"etc/circular/keys/{key.Id}.pub", Encoding.UTF8.GetBytes(key.ToPem()));
        }

        var files = modules.Closure(options.Modules, out var missing);
        string tree = $"lib/modules/{modules.Version}";
        foreach (string rel in files) cpio.AddFile($"{tree}/{rel}", File.ReadAllBytes(Path.Combine(modules.Root, rel)));
        var carried = files.Select(KernelModules.NameOf).ToHashSet(StringComparer.Ordinal);
        ModuleIndexes.Write(modules, carried, (index, bytes) => cpio.AddFile($"{tree}/{index}", bytes));
        // /init and `circular netroot` load the drivers only for devices the machine has (by modalias) and the others
        // always, the late ones once the archive is open (modprobe also loads each one's dependencies); docs/inetboot.md.
        var present = options.Modules.Where(m => !missing.Contains(KernelModules.Canonical(m))).ToList();
        var drivers = ModuleIndexes.Drivers(modules, present);
        cpio.AddFile("etc/circular/modules", Encoding.UTF8.GetBytes(string.Join('\n', present.Where(m => !drivers.Contains(KernelModules.Canonical(m)))) + "\n"));
        cpio.AddFile("etc/circular/modules-late", Encoding.UTF8.GetBytes(string.Join('\n', present.Where(m => InitramfsOptions.LateModules.Contains(KernelModules.Canonical(m)))) + "\n"));
        cpio.AddFile("etc/circular/drivers", Encoding.UTF8.GetBytes(string.Join('\n', present.Where(m => drivers.Contains(KernelModules.Canonical(m)))) + "\n"));
        // Options for modules loaded by one `modprobe -a`: partitions of the attached image show as /dev/nbd0p1…
        cpio.AddFile("etc/modprobe.d/circular.conf", "options nbd nbds_max=4 max_part=16\n"u8.ToArray());

        byte[] archive = cpio.ToArray();
        long before = output.CanSeek ? output.Position : 0;
        Compress(archive, options.Compression, output);
        long compressed = output.CanSeek ? output.Position - before : -1;
        return new InitramfsReport(modules.Version, files.Count, archive.Length, compressed, missing);
    }

    private static void Compress(byte[] archive, string compression, Stream output)
    {
        switch (compression)
        {
            case "gzip":
                using (var gz = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) gz.Write(archive);
                break;
            case "zstd":
                // The kernel's zstd decoder takes any standard frame; level 19 is what Debian's initramfs-tools uses.
                byte[] buf = new byte[ZstdSharp.Compressor.GetCompressBound(archive.Length)];
                int n = NativeZstd.Available ? NativeZstd.Compress(archive, buf, 19) : -1;
                if (n < 0)
                {
                    using var zstd = new ZstdSharp.Compressor(19);
                    n = zstd.Wrap(archive, buf);
                }
                output.Write(buf, 0, n);
                break;
            case "xz":
                // The kernel's xz decoder checks CRC32 only (xz's default, CRC64, fails to unpack).
                var psi = new ProcessStartInfo("xz") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { "--check=crc32", "-9e", "-T2", "-c" }) psi.ArgumentList.Add(a);
                Process xz;
                try { xz = Process.Start(psi)!; }
                catch (System.ComponentModel.Win32Exception) { throw new NotFoundException("xz is not installed: apt-get install xz-utils"); }
                using (xz)
                {
                    var copy = xz.StandardOutput.BaseStream.CopyToAsync(output);
                    xz.StandardInput.BaseStream.Write(archive);
                    xz.StandardInput.Close();
                    copy.GetAwaiter().GetResult();
                    xz.WaitForExit();
                    if (xz.ExitCode != 0) throw new CircularException($"xz failed: {xz.StandardError.ReadToEnd().Trim()}");
                }
                break;
            default:
                throw new UsageException($"--compress '{compression}': choose zstd, xz or gzip");
        }
    }

    private static byte[] Resource(string name)
    {
        using var s = typeof(InitramfsBuilder).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"resource {name} is missing from the build");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    private static IEnumerable<string> Applets(string busybox) =>
        Run(busybox, "--list").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>True when ldd says the file needs no shared libraries.</summary>
    private static bool IsStatic(string file)
    {
        var psi = new ProcessStartInfo("ldd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(file);
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return text.Contains("not a dynamic executable", StringComparison.Ordinal) || text.Contains("statically linked", StringComparison.Ordinal);
    }

    private static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
