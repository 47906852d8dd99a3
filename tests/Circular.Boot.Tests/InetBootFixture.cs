[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Circular.Boot.Tests;

/// <summary>
/// What the network-boot tests share (built once: each piece costs seconds to minutes under TCG): a small busybox
/// image in two versions whose init prints "CIRC-MARK vN HASH" and powers off, pushed with the machine's kernel to an
/// archive served by `circular serve`; the Circular initramfs (plain, and one carrying two keys); a signed copy of the
/// archive.
/// </summary>
public sealed class InetBootFixture : IAsyncLifetime
{
    public Scratch Scratch { get; } = new();
    public string Kernel { get; } = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault()
        ?? throw new Xunit.Sdk.XunitException("no kernel in /boot: apt-get install linux-image-amd64");
    public string KernelRelease => Path.GetFileName(Kernel)["vmlinuz-".Length..];
    /// <summary>The root file system of version 1 (a directory): what a Live ISO test packs into a squashfs.</summary>
    public string RootV1 => Scratch["root-v1"];
    public string Archive => Scratch["archive"];
    public string SignedArchive => Scratch["signed"];
    public string Initramfs => Scratch["initramfs.img"];
    /// <summary>Carries keys A (which signed <see cref="SignedArchive"/>) and B (which did not).</summary>
    public string KeyedInitramfs => Scratch["initramfs-keyed.img"];
    public string KeyA { get; private set; } = "";
    public string KeyB { get; private set; } = "";
    public string KeyAId { get; private set; } = "";
    public string KeyBId { get; private set; } = "";
    public BackgroundProcess Server { get; private set; } = null!;
    public int Port { get; private set; }
    public BackgroundProcess SignedServer { get; private set; } = null!;
    public int SignedPort { get; private set; }

    public async Task InitializeAsync()
    {
        Tools.Require("mkfs.ext4", "busybox", "qemu-system-x86_64", "python3");
        string v1 = MakeImage("v1"), v2 = MakeImage("v2"), notes = MakeImage("n1", writesNote: true);
        (await CircularCli.RunAsync("init", Archive)).Ok();
        // Each version's own command line says which it is: what a kexec into "its own kernel" shows on the console.
        (await CircularCli.RunAsync("push", Archive, "os", v1, "--kernel", Kernel, "--append", "console=ttyS0 deck=one")).Ok();
        (await CircularCli.RunAsync("push", Archive, "os", v2, "--kernel", Kernel, "--append", "console=ttyS0 deck=two")).Ok();
        (await CircularCli.RunAsync("push", Archive, "notes", notes, "--kernel", Kernel)).Ok();

        KeyA = Scratch["a.key"];
        KeyB = Scratch["b.key"];
        (await CircularCli.RunAsync("key", "generate", KeyA)).Ok();
        (await CircularCli.RunAsync("key", "generate", KeyB)).Ok();
        KeyAId = KeyId(KeyA + ".pub");
        KeyBId = KeyId(KeyB + ".pub");
        (await CircularCli.RunAsync("init", SignedArchive)).Ok();
        (await CircularCli.RunAsync("push", SignedArchive, "os", v2, "--kernel", Kernel, "--key", KeyA)).Ok();

        var build = CircularCli.RunAsync(TimeSpan.FromMinutes(5), "initramfs", Initramfs, "--kernel-version", KernelRelease);
        var keyed = CircularCli.RunAsync(TimeSpan.FromMinutes(5), "initramfs", KeyedInitramfs, "--kernel-version", KernelRelease,
            "--trust", KeyA + ".pub", "--trust", KeyB + ".pub");
        (await build).Ok();
        (await keyed).Ok();

        (Server, var url) = await CircularCli.ServeAsync(Archive);
        Port = url.Port;
        (SignedServer, var signedUrl) = await CircularCli.ServeAsync(SignedArchive);
        SignedPort = signedUrl.Port;
    }

    private static string KeyId(string pub)
    {
        var key = Core.Signing.VerifyingKey.Load(pub);
        return key.Id;
    }

    /// <summary>
    /// A 96 MiB ext4 image (1 KiB blocks, as mkfs makes small ones) whose init prints the marker and powers off; with
    /// <paramref name="writesNote"/> it also prints "CIRC-NOTE" and the note an earlier boot left in /data/note (or
    /// "none"), then leaves a new one: what shows that a machine's writes survive its reboot.
    /// </summary>
    private string MakeImage(string version, bool writesNote = false)
    {
        string root = Scratch[$"root-{version}"];
        foreach (string dir in new[] { "bin", "sbin", "proc", "sys", "dev", "data" }) Directory.CreateDirectory(Path.Combine(root, dir));
        File.Copy(Tools.Locate("busybox"), Path.Combine(root, "bin", "busybox"));
        foreach (string applet in new[] { "sh", "mount", "cat", "echo", "poweroff", "sha256sum", "cut", "sleep", "sync" })
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        File.CreateSymbolicLink(Path.Combine(root, "sbin", "init"), "../init");
        File.WriteAllText(Path.Combine(root, "init"), """
            #!/bin/sh
            mount -t proc proc /proc
            echo "CIRC-MARK $(cat /data/version.txt) $(sha256sum /data/blob | cut -c1-16)"
            """ + (writesNote ? """

            if [ -f /data/note ]; then echo "CIRC-NOTE $(cat /data/note)"; else echo "CIRC-NOTE none"; fi
            echo "left-at-$(cut -d' ' -f1 /proc/uptime)" > /data/note
            sync
            """ : "") + """

            poweroff -f
            """);
        File.SetUnixFileMode(Path.Combine(root, "init"), (UnixFileMode)0x1ed);
        File.WriteAllText(Path.Combine(root, "data", "version.txt"), version + "\n");
        File.WriteAllBytes(Path.Combine(root, "data", "blob"), RandomData.Bytes(8_000_000, 7));
        string image = Scratch[$"{version}.img"];
        using (var f = File.Create(image)) f.SetLength(96 << 20);
        Tools.Run("mkfs.ext4", "-q", "-F", "-d", root, image);
        return image;
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        if (SignedServer is not null) await SignedServer.DisposeAsync();
        Scratch.Dispose();
    }
}

/// <summary>QEMU guests run one at a time: two TCG guests on two cores double every boot time.</summary>
[CollectionDefinition("qemu")]
public sealed class QemuCollection : ICollectionFixture<InetBootFixture>;
