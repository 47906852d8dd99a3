using Circular.Cli.Tests.Support;
using Circular.Core.HotData;

namespace Circular.Cli.Tests;

/// <summary>`profile push` of a profile recorded on another manifest: stored, with a note that says which one.</summary>
public sealed class ProfilePushTests(Scratch scratch) : IClassFixture<Scratch>
{
    [Fact]
    public async Task A_profile_of_another_manifest_is_stored_with_a_note_naming_it()
    {
        string archive = await scratch.InitArchiveAsync("archive");
        byte[] image = TestImages.TextBytes(1 << 20, 5);
        File.WriteAllBytes(scratch["v.img"], image);
        (await CircularCli.RunAsync("push", archive, "os", scratch["v.img"], "--chunk-size", "64K")).Ok();
        (await CircularCli.RunAsync("push", archive, "os", scratch["v.img"], "--chunk-size", "64K")).Ok();
        var profile = new BootProfile {
            Image = "os",
            Version = 1,
            ManifestDigest = new string('a', 64), // the digest of an os@1 pushed to some other archive
            Size = image.Length,
            ChunkSize = 64 << 10,
            Reads = [[0, 0, 4096]],
        };
        File.WriteAllBytes(scratch["p.json"], profile.Serialize());

        var same = (await CircularCli.RunAsync("profile", "push", archive, "os@1", scratch["p.json"])).Ok();
        Assert.Contains("was recorded on another manifest of os@1 (aaaaaaaaaaaa, this archive's is ", same.Err, StringComparison.Ordinal);
        Assert.Contains("stored profile", same.Out, StringComparison.Ordinal);

        var other = (await CircularCli.RunAsync("profile", "push", archive, "os@2", scratch["p.json"])).Ok();
        Assert.Contains("was recorded on os@1, not os@2; its offsets are used as they are", other.Err, StringComparison.Ordinal);
    }
}
