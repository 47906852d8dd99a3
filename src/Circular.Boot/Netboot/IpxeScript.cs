using System.Text;

namespace Circular.Boot.Netboot;

/// <summary>An iPXE script that boots one version through the Circular initramfs.</summary>
public static class IpxeScript
{
    /// <param name="kernelUri">The kernel, relative to the script (iPXE resolves it against the script's URL).</param>
    /// <param name="initramfsUri">The initramfs, likewise.</param>
    public static string For(string title, string kernelUri, string initramfsUri, string commandLine)
    {
        var s = new StringBuilder();
        s.AppendLine("#!ipxe");
        s.AppendLine($"# {title} (circular netboot)");
        s.AppendLine($"echo {title}");
        // initrd=NAME on the kernel line: UEFI iPXE passes the initrd only when the kernel names it.
        s.AppendLine($"kernel {kernelUri} initrd=initramfs {commandLine}");
        s.AppendLine($"initrd --name initramfs {initramfsUri}");
        s.AppendLine("boot");
        return s.ToString();
    }
}
