using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Signing;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

/// <summary>`circular key generate` and `circular key resign`: the publisher's side of signed archives.</summary>
public static class KeyCommand
{
    public static Command Create() => new("key", "Signing keys: create a key pair, renew refs signatures") { Generate(), Resign() };

    private static Command Generate()
    {
        var file = new Argument<string>("KEYFILE") { Description = "Where to write the private key (PKCS#8 PEM, mode 0600); the public key goes to KEYFILE.pub" };
        var cmd = new Command("generate", "Create an ECDSA P-256 signing key pair") { file };
        CommandAction.Set(cmd, (pr, _) =>
        {
            string path = pr.GetValue(file)!;
            if (File.Exists(path + ".pub")) throw new UsageException($"{path}.pub exists; not overwriting a key");
            using var key = SigningKey.Generate();
            key.Save(path);
            System.Console.WriteLine($"key {key.Id}: private {path}, public {path}.pub");
            return Task.FromResult(CommandAction.Ok);
        });
        return cmd;
    }

    private static Command Resign()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var name = new Argument<string?>("NAME") { Description = "Image to resign (default: every image)", Arity = ArgumentArity.ZeroOrOne };
        var signing = new SigningOptions();
        var cmd = new Command("resign",
            "Renew the refs signatures (new timestamp and expiry; refs.json and its serial are unchanged) and sign any unsigned manifests. " +
            "Run it before the refs expire, e.g. from cron") { archive, name };
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            var signer = signing.Read(pr) ?? throw new UsageException("resign needs --key KEYFILE");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signer);
            var images = pr.GetValue(name) is { } n ? [n] : await la.Reader.ListImagesAsync(ct);
            foreach (var image in images)
            {
                ImageName.Validate(image);
                int manifests = await la.ResignAsync(image, ct);
                var expires = DateTimeOffset.UtcNow + signer.Validity;
                System.Console.WriteLine($"resigned {image} with key {signer.Key.Id}: refs valid until {expires.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}" +
                    (manifests > 0 ? $", {manifests} manifests signed" : ""));
            }
            return CommandAction.Ok;
        }));
        return cmd;
    }
}
