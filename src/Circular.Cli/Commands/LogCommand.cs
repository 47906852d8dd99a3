using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;

namespace Circular.Cli.Commands;

public static class LogCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var name = new Argument<string>("NAME") { Description = "Image name" };
        var client = new ClientOptions();
        var json = new Option<bool>("--json") { Description = "Print the catalog's JSON for the image (as /api/images/NAME answers), with every version on one page" };
        var cmd = new Command("log", "List the versions of an image: size, date, tags, message and the bytes each added") { archive, name, json };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string image = pr.GetValue(name)!;
            ImageName.Validate(image);
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(archive)!), ct);
            if (pr.GetValue(json))
            {
                await CatalogOutput.PrintImageAsync(stack.Reader, image, ct);
                return CommandAction.Ok;
            }
            var refs = await stack.Reader.GetRefsAsync(image, ct);
            System.Console.WriteLine($"{"",1} {"VERSION",7} {"CREATED",-20} {"SIZE",10} {"ADDED",10}  {"TAGS",-12} MESSAGE");
            foreach (var v in refs.Versions.OrderByDescending(v => v.Version))
            {
                string tags = string.Join(",", refs.Tags.Where(t => t.Value == v.Version).Select(t => t.Key).Order(StringComparer.Ordinal));
                string mark = v.Version == refs.Latest ? "*" : " ";
                System.Console.WriteLine($"{mark} {v.Version,7} {v.Created.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z {ByteSize.Format(v.Size),10} {ByteSize.Format(v.AddedBytes),10}  {tags,-12} {v.Message}");
            }
            System.Console.WriteLine($"(* = latest: version {refs.Latest})");
            if (stack.Reader.Trust is not null &&
                await stack.Reader.Backend.TryReadAsync(ObjectHandle.Refs(image).Signature(), Storage.Backends.ReadHints.None, ct) is { } sig)
            {
                // Already verified by GetRefsAsync; shown so publishers see when 'circular key resign' is due.
                var st = Core.Signing.SignatureFile.Parse(sig.Data, "refs signature");
                System.Console.WriteLine($"(signed by key {st.KeyId}, serial {refs.Serial}, valid until {st.Statement.ExpiresAt?.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)");
            }
            return CommandAction.Ok;
        });
        return cmd;
    }
}
