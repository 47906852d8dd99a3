using Circular.Core.Archive;
using Circular.Core.Signing;
using Circular.Server.Catalog;
using Circular.Server.Tests.Support;
using Circular.Storage.Trust;

namespace Circular.Server.Tests;

/// <summary>How the catalog judges refs and manifests of a signed archive: signed, unsigned, forged, expired.</summary>
public sealed class CatalogSignatureTests : IAsyncLifetime
{
    private TestArchive _a = null!;
    private SigningKey _key = null!;

    public async Task InitializeAsync()
    {
        _a = await TestArchive.CreateStandardAsync();
        _key = SigningKey.Generate();
        var signed = _a.Archive.WithSigner(new ArchiveSigner(_key, TimeSpan.FromDays(30)));
        // os: refs signed (by the description's update) and every manifest signed by resign; tools stays unsigned.
        await signed.UpdateRefsAsync("os", r => r with { Description = "signed" }, CancellationToken.None);
        await signed.ResignAsync("os", CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _key.Dispose();
        _a.Dispose();
        return Task.CompletedTask;
    }

    private CatalogReader Reader(TimeProvider? clock = null) => new(_a.Archive.Reader, clock);

    [Fact]
    public async Task Signed_refs_and_manifests_show_their_key()
    {
        var images = (await Reader().ImagesAsync(CancellationToken.None)).ToDictionary(i => i.Name);
        Assert.Equal(RefsStatus.Ok, images["os"].Status);
        Assert.Equal(_key.Public.Id, images["os"].SignedBy);
        var detail = await Reader().ImageAsync("os", 1, 50, CancellationToken.None);
        Assert.All(detail!.Versions.Versions, v => Assert.Equal(_key.Public.Id, v.SignedBy));
    }

    [Fact]
    public async Task A_version_without_a_valid_manifest_signature_is_shown_with_the_problem_and_no_commands()
    {
        File.Delete(Path.Combine(_a.Root, ArchiveLayout.ManifestPath("os", 1) + ".sig"));
        var detail = await Reader().ImageAsync("os", 1, 50, CancellationToken.None);
        var v1 = detail!.Versions.Versions.Single(v => v.Version == 1);
        Assert.Null(v1.SignedBy);
        Assert.Contains("not signed", v1.Problem);
        var html = CatalogHtml.Image(detail, new CatalogSite("http://x", (_, _) => []));
        Assert.Contains("circular boot http://x os@2", html);
        Assert.DoesNotContain("circular boot http://x os@1", html);
    }

    [Fact]
    public async Task Unsigned_refs_in_a_signed_archive_are_shown_as_such_without_versions()
    {
        var tools = (await Reader().ImagesAsync(CancellationToken.None)).Single(i => i.Name == "tools");
        Assert.Equal(RefsStatus.Unsigned, tools.Status);
        Assert.Contains("refuse", tools.Problem);
        var detail = await Reader().ImageAsync("tools", 1, 50, CancellationToken.None);
        Assert.Empty(detail!.Versions.Versions);
        var html = CatalogHtml.Image(detail, new CatalogSite("http://x", (_, _) => []));
        Assert.Contains("Unsigned refs", html);
        Assert.DoesNotContain("circular boot", html);
    }

    [Fact]
    public async Task Altered_refs_are_shown_with_a_bad_signature()
    {
        string refs = Path.Combine(_a.Root, ArchiveLayout.RefsPath("os"));
        await File.WriteAllTextAsync(refs, (await File.ReadAllTextAsync(refs)).Replace("\"signed\"", "\"forged\"", StringComparison.Ordinal));
        var os = (await Reader().ImagesAsync(CancellationToken.None)).Single(i => i.Name == "os");
        Assert.Equal(RefsStatus.BadSignature, os.Status);
        Assert.Contains("altered", os.Problem);
        Assert.Null(os.Description); // nothing from refs a client would refuse is shown
    }

    [Fact]
    public async Task Expired_refs_signatures_are_shown_as_expired()
    {
        var later = new FixedClock(DateTimeOffset.UtcNow.AddDays(31));
        var os = (await Reader(later).ImagesAsync(CancellationToken.None)).Single(i => i.Name == "os");
        Assert.Equal(RefsStatus.Expired, os.Status);
        Assert.Contains("key resign", os.Problem);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
