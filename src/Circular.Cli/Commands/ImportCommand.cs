using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Imaging.Remote;
using Circular.Storage.Archive;
using Circular.Storage.Http;

namespace Circular.Cli.Commands;

public static class ImportCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("URL") { Description = "http(s) URL of a plain image or ISO on any web server that accepts byte ranges" };
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var name = new Argument<string>("NAME") { Description = "Image name" };
        var publish = new PublishOptions();
        var client = new ClientOptions();
        var cmd = new Command("import", "Publish a remote image as the next version of NAME, reading it with range requests (never stored whole locally)")
        {
            url, archive, name,
        };
        publish.AddTo(cmd);
        client.AddTo(cmd);
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            string imageName = pr.GetValue(name)!;
            publish.ValidateNameAndTag(pr, imageName);
            string u = pr.GetValue(url)!;
            if (!ArchiveLocation.IsUrl(u) || !Uri.TryCreate(u, UriKind.Absolute, out var uri)) throw new UsageException($"not an http(s) URL: '{u}'");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            var pushSettings = publish.Settings(pr, la.Config, null, $"imported from {u}", parallelism: 16);
            var settings = client.Read(pr, u);
            using var http = new HttpClient(HttpBackend.CreateHandler(new HttpBackendOptions { Timeout = settings.Timeout })) { Timeout = Timeout.InfiniteTimeSpan };
            var cache = ArchiveClient.OpenCache(settings);
            await using var image = await RangeHttpImage.OpenAsync(uri, http, cache, settings.Timeout, ct);
            var result = await PushCommand.PushAsync(la, imageName, image,
                pushSettings, ct);
            PushCommand.Report(imageName, result);
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
