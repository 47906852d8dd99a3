using System.Security.Cryptography;
using System.Text;
using Circular.Core.Manifests;

namespace Circular.Boot.Netboot;

/// <summary>
/// Where network-boot files live in an archive (docs/inetboot.md): scripts per image and version, kernels by content,
/// initramfs images per kernel release. Paths are relative to the archive root; scripts refer to the others relatively,
/// so they work wherever the archive is served.
/// </summary>
public static class NetbootLayout
{
    public const string Dir = "boot";

    public static string Script(string image, string selector) => $"{Dir}/{image}/{selector}.ipxe";

    /// <summary>A version's boot ISO (`circular netboot --iso`; made on request by `serve`).</summary>
    public static string Iso(string image, string selector) => $"{Dir}/{image}/{selector}.iso";

    /// <summary>A kernel, named by the hash of its chunk ids (the same kernel stored with many versions is one file).</summary>
    public static string Kernel(AssetRef kernel) => $"{Dir}/kernels/{KernelId(kernel)}";

    public static string KernelId(AssetRef kernel) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join(',', kernel.Chunks) + ":" + kernel.Size)))[..32];

    public static string Initramfs(string name) => $"{Dir}/initramfs/{name}";

    /// <summary>The universal medium's script: a menu of every image of the archive, read at boot (docs/inetboot.md).</summary>
    public const string MenuScript = Dir + "/menu.ipxe";

    /// <summary>A relative URI from <see cref="MenuScript"/> (in boot/) to a file under boot/.</summary>
    public static string FromMenu(string path) => path[(Dir.Length + 1)..];

    /// <summary>A relative URI from a script (boot/NAME/) to a file under boot/.</summary>
    public static string FromScript(string path) => "../" + path[(Dir.Length + 1)..];
}
