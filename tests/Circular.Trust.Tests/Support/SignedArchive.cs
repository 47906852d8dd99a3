using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Circular.Core.Archive;
using Circular.Core.Manifests;
using Circular.Core.Signing;

namespace Circular.Trust.Tests.Support;

/// <summary>
/// An archive signed with a trusted key: image "os" version 1 (v1.img) and version 2 (v2.img), plus an attacker's
/// key and the tools a malicious mirror uses to alter files.
/// </summary>
public sealed class SignedArchive
{
    private SignedArchive(Scratch scratch, string root) { Scratch = scratch; Root = root; }

    public Scratch Scratch { get; }
    public string Root { get; }
    public string Key => Scratch["trusted.key"];
    public string Pub => Scratch["trusted.key.pub"];
    public string EvilKey => Scratch["evil.key"];
    public string EvilPub => Scratch["evil.key.pub"];
    public string V1 => Scratch["v1.img"];
    public string V2 => Scratch["v2.img"];
    /// <summary>The publisher's own `circular` (its trust state is never used for reading).</summary>
    public CliUser Publisher { get; private init; } = null!;

    public static async Task<SignedArchive> CreateAsync(Scratch s, params string[] pushOptions)
    {
        var publisher = s.NewClient("publisher");
        var a = new SignedArchive(s, s["archive"]) { Publisher = publisher };
        (await publisher.RunAsync("key", "generate", a.Key)).Ok();
        (await publisher.RunAsync("key", "generate", a.EvilKey)).Ok();
        (await publisher.RunAsync("init", a.Root)).Ok();
        RandomData.WriteFile(a.V1, 1 << 20, 1);
        var v2 = File.ReadAllBytes(a.V1);
        new Random(2).NextBytes(v2.AsSpan(300_000, 100_000));
        File.WriteAllBytes(a.V2, v2);
        (await publisher.RunAsync(["push", a.Root, "os", a.V1, "--key", a.Key, "--chunk-size", "64K", .. pushOptions])).Ok();
        (await publisher.RunAsync(["push", a.Root, "os", a.V2, "--key", a.Key, "--chunk-size", "64K", .. pushOptions])).Ok();
        return a;
    }

    /// <summary>A copy of the archive as it is now, to be served (and altered) as a mirror.</summary>
    public string Snapshot(string name)
    {
        string dir = Scratch[name];
        Scratch.CopyDirectory(Root, dir);
        return dir;
    }

    public static string RefsPath(string root) => Path.Combine(root, ArchiveLayout.RefsPath("os"));
    public static string ManifestPath(string root, int v) => Path.Combine(root, ArchiveLayout.ManifestPath("os", v));

    /// <summary>Rewrites refs.json through <paramref name="change"/> (the signature file is left as it was).</summary>
    public static void EditRefs(string root, Action<JsonObject> change)
    {
        var refs = JsonNode.Parse(File.ReadAllBytes(RefsPath(root)))!.AsObject();
        change(refs);
        File.WriteAllText(RefsPath(root), refs.ToJsonString());
    }

    /// <summary>Re-signs refs.json with <paramref name="keyFile"/>, optionally claiming another key's id (a forgery).</summary>
    public static void SignRefs(string root, string keyFile, long serial, TimeSpan validity, string? claimKeyId = null)
    {
        using var key = SigningKey.Load(keyFile);
        byte[] refs = File.ReadAllBytes(RefsPath(root));
        var now = DateTimeOffset.UtcNow;
        var statement = new SignedStatement {
            Path = ArchiveLayout.RefsPath("os"),
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(refs)),
            Serial = serial,
            Timestamp = now.ToUnixTimeSeconds(),
            Expires = (now + validity).ToUnixTimeSeconds(),
        };
        string sig = System.Text.Encoding.UTF8.GetString(SignatureFile.Create(statement, key));
        if (claimKeyId is not null) sig = sig.Replace($"\"keyId\":\"{key.Id}\"", $"\"keyId\":\"{claimKeyId}\"", StringComparison.Ordinal);
        File.WriteAllText(RefsPath(root) + ".sig", sig);
    }

    public static void SignManifest(string root, int version, string keyFile)
    {
        using var key = SigningKey.Load(keyFile);
        byte[] m = File.ReadAllBytes(ManifestPath(root, version));
        var statement = new SignedStatement {
            Path = ArchiveLayout.ManifestPath("os", version),
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(m)),
            Timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };
        File.WriteAllBytes(ManifestPath(root, version) + ".sig", SignatureFile.Create(statement, key));
    }

    /// <summary>
    /// Points block <paramref name="block"/> of a version at another chunk and makes the refs list the new digest: a
    /// self-consistent forgery that only signatures can catch. Returns the new digest.
    /// </summary>
    public static string SwapBlockInManifest(string root, int version, int block, int withBlock)
    {
        var m = Manifest.Parse(File.ReadAllBytes(ManifestPath(root, version)), "test");
        var blocks = (Core.Chunks.ChunkId[])m.Blocks.Clone();
        blocks[block] = blocks[withBlock];
        byte[] bytes = new Manifest(m.Metadata, m.ChunkSize, m.ImageSize, blocks).Serialize();
        File.WriteAllBytes(ManifestPath(root, version), bytes);
        string digest = Manifest.Digest(bytes);
        EditRefs(root, r =>
        {
            foreach (var v in r["versions"]!.AsArray())
                if ((int)v!["version"]! == version) v["manifest"] = digest;
        });
        return digest;
    }

    public static long Serial(string root) => (long)JsonNode.Parse(File.ReadAllBytes(RefsPath(root)))!["serial"]!;
}
