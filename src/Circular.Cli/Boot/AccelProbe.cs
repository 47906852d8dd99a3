using System.Diagnostics;

namespace Circular.Cli.Boot;

/// <summary>
/// Chooses QEMU's accelerator. /dev/kvm can exist yet hang guests (nested setups), so KVM is used only after a
/// tiny guest — a boot sector that writes to QEMU's isa-debug-exit port — has run under it within a few seconds.
/// </summary>
public static class AccelProbe
{
    public static async Task<string> ChooseAsync(string requested, string qemu, string workDir, CancellationToken ct)
    {
        if (requested is "kvm" or "tcg") return requested;
        if (!File.Exists("/dev/kvm")) return "tcg";
        return await KvmWorksAsync(qemu, workDir, ct).ConfigureAwait(false) ? "kvm" : "tcg";
    }

    private static async Task<bool> KvmWorksAsync(string qemu, string workDir, CancellationToken ct)
    {
        string disk = Path.Combine(workDir, "kvm-probe.img");
        var sector = new byte[512];
        // mov al,1 ; out 0xf4,al ; hlt ; jmp $-1   then the boot signature
        byte[] code = [0xB0, 0x01, 0xE6, 0xF4, 0xF4, 0xEB, 0xFD];
        code.CopyTo(sector, 0);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        await File.WriteAllBytesAsync(disk, sector, ct).ConfigureAwait(false);
        var psi = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-accel", "kvm", "-cpu", "host", "-display", "none", "-nodefaults", "-no-reboot", "-m", "16",
                     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-drive", $"file={disk},format=raw,if=ide" })
            psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await p.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
                return p.ExitCode == 3; // isa-debug-exit: (1 << 1) | 1
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                p.Kill(entireProcessTree: true);
                return false;
            }
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
        finally { File.Delete(disk); }
    }
}
