using System.Runtime.InteropServices;
using System.Text;
using Circular.Core.Errors;

namespace Circular.Boot.Kexec;

/// <summary>
/// Loads a kernel, its initramfs and command line into the running kernel with kexec_file_load(2) and starts it with
/// reboot(LINUX_REBOOT_CMD_KEXEC): no kexec-tools needed, the kernel parses and (where it must) verifies the image.
/// </summary>
public static partial class KexecLoader
{
    private const long SysKexecFileLoad = 320; // x86_64
    private const ulong KexecFileNoInitramfs = 0x4;
    private const int RebootCmdKexec = 0x45584543;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long kernelFd, long initrdFd, ulong cmdlineLength, nint cmdline, ulong flags);

    [LibraryImport("libc", EntryPoint = "reboot", SetLastError = true)]
    private static partial int Reboot(int command);

    [LibraryImport("libc", EntryPoint = "sync")]
    private static partial void Sync();

    /// <summary>Loads <paramref name="kernel"/> (a bzImage) with <paramref name="initrd"/> (or none) and <paramref name="cmdline"/>.</summary>
    public static void Load(string kernel, string? initrd, string cmdline)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
            throw new NotSupportedException("kexec is implemented for Linux on x86-64 only");
        using var k = File.OpenHandle(kernel, FileMode.Open, FileAccess.Read);
        using var i = initrd is null ? null : File.OpenHandle(initrd, FileMode.Open, FileAccess.Read);
        byte[] line = Encoding.UTF8.GetBytes(cmdline + "\0");
        var pin = GCHandle.Alloc(line, GCHandleType.Pinned);
        try
        {
            long r = Syscall(SysKexecFileLoad, k.DangerousGetHandle(), i?.DangerousGetHandle() ?? -1, (ulong)line.Length, pin.AddrOfPinnedObject(),
                i is null ? KexecFileNoInitramfs : 0);
            if (r != 0) throw new CircularException(Explain(Marshal.GetLastPInvokeError()));
        }
        finally { pin.Free(); }
    }

    /// <summary>Starts the loaded kernel now (file systems synced first). Returns only on failure.</summary>
    public static void Execute()
    {
        Sync();
        if (Reboot(RebootCmdKexec) != 0)
            throw new CircularException($"starting the loaded kernel failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    private static string Explain(int errno) => errno switch {
        1 => "kexec is not permitted: run as root (and check /proc/sys/kernel/kexec_load_disabled)",
        38 => "this kernel cannot kexec (no kexec_file_load: it was built without CONFIG_KEXEC_FILE)",
        8 => "the kernel refused the new kernel image: not an x86 bzImage it can load",
        129 or 126 or 127 => "the kernel refused the new kernel: its signature is not trusted (lockdown or Secure Boot)",
        12 => "not enough memory to load the new kernel and its initramfs",
        16 => "another kexec image is already being loaded",
        _ => $"kexec_file_load failed: {Marshal.GetPInvokeErrorMessage(errno)}",
    };
}
