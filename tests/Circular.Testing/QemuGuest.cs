using System.Diagnostics;

namespace Circular.Testing;

/// <summary>
/// Runs a QEMU guest (TCG, serial console on stdout, no reboot) whose network reaches only loopback test servers:
/// user networking with restrict=on, each guest address forwarded by <see cref="GuestForward"/> to one loopback port.
/// </summary>
public static class QemuGuest
{
    /// <summary>Guest addresses the forwards use: 10.0.2.100 is the first archive, .101 the second, …</summary>
    public static string Address(int index) => $"10.0.2.{100 + index}";

    /// <summary>
    /// `-netdev user,…` reaching <paramref name="ports"/> (loopback) at 10.0.2.100, .101, … port 80, plus a virtio NIC.
    /// <paramref name="bootFile"/> is handed out by slirp's DHCP (network boot).
    /// </summary>
    public static string[] Network(IReadOnlyList<int> ports, string? bootFile = null, string nic = "virtio-net-pci")
    {
        string relay = GuestForward.Script;
        var forwards = ports.Select((p, i) => $",guestfwd=tcp:{Address(i)}:80-cmd:python3 {relay} 127.0.0.1 {p}");
        return ["-netdev", $"user,id=n0,restrict=on{(bootFile is null ? "" : $",bootfile={bootFile}")}{string.Concat(forwards)}", "-device", $"{nic},netdev=n0"];
    }

    /// <summary>UEFI firmware (OVMF) as pflash, with a private copy of its variable store in <paramref name="dir"/>.</summary>
    public static string[] Uefi(string dir)
    {
        string code = "/usr/share/OVMF/OVMF_CODE_4M.fd", vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
        if (!File.Exists(code)) throw new Xunit.Sdk.XunitException($"{code} is missing: apt-get install ovmf");
        string copy = Path.Combine(dir, $"ovmf-vars-{Guid.NewGuid():n}.fd");
        File.Copy(vars, copy);
        return ["-drive", $"if=pflash,format=raw,readonly=on,file={code}", "-drive", $"if=pflash,format=raw,file={copy}"];
    }

    /// <summary>Starts a guest; its console is the process's stdout.</summary>
    public static BackgroundProcess Start(string memory, params string[] args)
    {
        Tools.Require("qemu-system-x86_64", "python3");
        var psi = ChildProcess.StartInfo("qemu-system-x86_64", ["-accel", "tcg", "-m", memory, "-nographic", "-no-reboot", .. args], []);
        return BackgroundProcess.Start(psi, "qemu " + string.Join(' ', args.Where(a => !a.Contains("guestfwd", StringComparison.Ordinal))));
    }

    /// <summary>Boots until the guest powers off (or the time runs out: then it is killed) and returns its console.</summary>
    public static async Task<string> RunAsync(TimeSpan timeout, string memory, params string[] args)
    {
        await using var guest = Start(memory, args);
        var clock = Stopwatch.StartNew();
        while (!guest.HasExited && clock.Elapsed < timeout) await Task.Delay(200);
        if (guest.HasExited) await guest.DrainAsync();
        return guest.Out;
    }

    /// <summary>Waits until the console shows <paramref name="text"/>; false when the guest exits or the time runs out first.</summary>
    public static async Task<bool> WaitForAsync(BackgroundProcess guest, string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (guest.Out.Contains(text, StringComparison.Ordinal)) return true;
            if (guest.HasExited)
            {
                // Its last lines (the power-off message) may still be in the pipe when the process is gone.
                await guest.DrainAsync();
                return guest.Out.Contains(text, StringComparison.Ordinal);
            }
            await Task.Delay(200);
        }
        return false;
    }
}

/// <summary>
/// The relay QEMU's guestfwd runs per guest connection (its stdin and stdout are the connection): it copies bytes to a
/// loopback port and back. It must never write to stderr, which QEMU mixes into the connection.
/// </summary>
public static class GuestForward
{
    private static readonly Lazy<string> s_script = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), "circular-guestfwd-relay.py");
        File.WriteAllText(path, """
            import os, socket, sys, threading
            s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
            def up():
                try:
                    while (b := os.read(0, 65536)):
                        s.sendall(b)
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            threading.Thread(target=up, daemon=True).start()
            try:
                while (b := s.recv(65536)):
                    os.write(1, b)
            except OSError:
                pass
            """);
        return path;
    });

    public static string Script => s_script.Value;
}
