using System.Security.Cryptography;
using System.Text;
using Circular.Core.Errors;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Trust;

namespace Circular.Trust.Tests;

/// <summary>Signing, verification, trust policy and the measurement chain, in process.</summary>
public sealed class SigningTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private static SignedStatement Statement(byte[] data, string path = "images/os/refs.json", long? serial = 1, long? expires = null) => new() {
        Path = path,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(data)),
        Serial = serial,
        Timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        Expires = expires ?? DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds(),
    };

    [Fact]
    public void Key_files_round_trip_with_a_private_mode_and_a_stable_id()
    {
        string path = _s["k"];
        string id;
        using (var key = SigningKey.Generate()) { key.Save(path); id = key.Id; }
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var loaded = SigningKey.Load(path);
        Assert.Equal(id, loaded.Id);
        Assert.Equal(id, VerifyingKey.Load(path + ".pub").Id);
        Assert.True(KeyId.IsValid(id));
        Assert.Throws<UsageException>(() => SigningKey.Load(path + ".pub"));
        Assert.Throws<UsageException>(() => { using var k = SigningKey.Generate(); k.Save(path); });
    }

    [Fact]
    public void Signature_verifies_and_any_change_breaks_it()
    {
        using var key = SigningKey.Generate();
        byte[] data = "refs"u8.ToArray();
        byte[] file = SignatureFile.Create(Statement(data), key);
        var sig = SignatureFile.Parse(file, "test");
        Assert.True(sig.VerifiedBy(key.Public));
        using var other = SigningKey.Generate();
        Assert.False(sig.VerifiedBy(other.Public));

        string text = Encoding.UTF8.GetString(file);
        var tampered = SignatureFile.Parse(Encoding.UTF8.GetBytes(text.Replace("\"serial\":1", "\"serial\":9", StringComparison.Ordinal)), "test");
        Assert.Equal(9, tampered.Statement.Serial);
        Assert.False(tampered.VerifiedBy(key.Public));
        Assert.Throws<TrustException>(() => SignatureFile.Parse("{\"format\":\"x\"}"u8, "test"));
        Assert.Throws<TrustException>(() => SignatureFile.Parse("not json"u8, "test"));
    }

    private static (TrustPolicy Policy, SigningKey Key, TrustState State) Policy(string dir, DateTimeOffset? now = null)
    {
        var key = SigningKey.Generate();
        var state = new TrustState(dir);
        return (new TrustPolicy([key.Public], state, null, now is null ? null : () => now.Value), key, state);
    }

    private static (ImageRefs Refs, byte[] Bytes, byte[] Sig) SignedRefs(SigningKey key, long serial, TimeSpan validity)
    {
        var refs = new ImageRefs { Image = "os", Serial = serial, Latest = 1 };
        byte[] bytes = refs.Serialize();
        var signer = new ArchiveSigner(key, validity);
        return (refs, bytes, signer.SignRefs("os", bytes, serial));
    }

    [Fact]
    public void Policy_accepts_fresh_refs_and_refuses_replayed_expired_and_altered_ones()
    {
        var (policy, key, state) = Policy(_s.Dir);
        using var _ = key;
        var (r5, b5, s5) = SignedRefs(key, 5, TimeSpan.FromDays(1));
        policy.CheckRefs("os", r5, policy.Verify("images/os/refs.json", b5, s5, "refs"), false, "refs");
        Assert.Equal(5, state.HighestSerial(key.Id, "os"));

        var (r4, b4, s4) = SignedRefs(key, 4, TimeSpan.FromDays(1));
        var v4 = policy.Verify("images/os/refs.json", b4, s4, "refs");
        Assert.Contains("replay", Assert.Throws<TrustException>(() => policy.CheckRefs("os", r4, v4, false, "refs")).Message, StringComparison.Ordinal);
        policy.CheckRefs("os", r4, v4, explicitVersion: true, "refs"); // a version by number may come from older refs
        Assert.Equal(5, state.HighestSerial(key.Id, "os"));

        var later = new TrustPolicy([key.Public], state, null, () => DateTimeOffset.UtcNow.AddDays(2));
        Assert.Contains("expired", Assert.Throws<TrustException>(() => later.CheckRefs("os", r5, later.Verify("images/os/refs.json", b5, s5, "refs"), false, "refs")).Message, StringComparison.Ordinal);

        b5[^2] ^= 1;
        Assert.Contains("altered", Assert.Throws<TrustException>(() => policy.Verify("images/os/refs.json", b5, s5, "refs")).Message, StringComparison.Ordinal);
        Assert.Throws<TrustException>(() => policy.Verify("images/other/refs.json", b4, s4, "refs"));
        Assert.Contains("not signed", Assert.Throws<TrustException>(() => policy.Verify("images/os/refs.json", b4, null, "refs")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serial_in_the_refs_must_be_the_signed_one()
    {
        var (policy, key, _) = Policy(_s.Dir);
        using var k = key;
        var refs = new ImageRefs { Image = "os", Serial = 7 };
        byte[] bytes = refs.Serialize();
        byte[] sig = new ArchiveSigner(key, TimeSpan.FromDays(1)).SignRefs("os", bytes, 3);
        var v = policy.Verify("images/os/refs.json", bytes, sig, "refs");
        Assert.Contains("signed serial", Assert.Throws<TrustException>(() => policy.CheckRefs("os", refs, v, false, "refs")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Chain_is_a_pcr_extend_from_zero()
    {
        var chain = new MeasurementChain();
        Assert.Equal(new string('0', 64), chain.Hex);
        byte[] a = SHA256.HashData("a"u8), b = SHA256.HashData("b"u8);
        chain.Extend(a);
        chain.Extend(b);
        byte[] expected = SHA256.HashData([.. SHA256.HashData([.. new byte[32], .. a]), .. b]);
        Assert.Equal(Convert.ToHexStringLower(expected), chain.Hex);
        Assert.Throws<ArgumentException>(() => chain.Extend(new byte[31]));
    }

    [Fact]
    public async Task Log_measures_each_value_once_in_first_access_order()
    {
        string path = _s["m.log"];
        var ids = Enumerable.Range(0, 3).Select(i => Core.Chunks.ChunkId.Compute(new[] { (byte)i })).ToArray();
        string manifest = Convert.ToHexStringLower(SHA256.HashData("m"u8));
        await using (var log = MeasurementLog.Create(path, null))
        {
            log.MeasureManifest(manifest, "os@1");
            log.MeasureChunk(ids[2]);
            log.MeasureChunk(ids[0]);
            log.MeasureChunk(ids[2]);
            log.MeasureManifest(manifest, "os@1");
        }
        var events = MeasurementEvent.ParseLog(File.ReadAllText(path), path);
        Assert.Equal(["manifest", "chunk", "chunk"], events.Select(e => e.Kind));
        Assert.Equal([manifest, ids[2].ToHex(), ids[0].ToHex()], events.Select(e => e.Value));
        var chain = new MeasurementChain();
        foreach (var e in events) chain.Extend(Convert.FromHexString(e.Value));
        Assert.Equal(chain.Hex, events[^1].Chain);
    }
}
