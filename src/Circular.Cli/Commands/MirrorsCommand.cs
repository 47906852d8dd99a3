using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Core.Signing;
using Circular.Storage.Backends;
using Circular.Storage.Http;

namespace Circular.Cli.Commands;

/// <summary>`circular mirrors add|remove|list`: the archive's published mirror list (mirrors.json), which clients given one URL learn the others from.</summary>
public static class MirrorsCommand
{
    public static Command Create() => new("mirrors",
        "The archive's mirror list: other URLs serving the same archive. A client given any one URL learns the others, ranks them by round trip, fails over and back. " +
        "Signed with --key in a signed archive")
        { Change("add"), Change("remove"), List() };

    private static Command Change(string verb)
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var urls = new Argument<string[]>("URL") { Description = verb == "add" ? "Base URL(s) of mirrors of this archive" : "Mirror URL(s) to take off the list", Arity = ArgumentArity.OneOrMore };
        var signing = new SigningOptions();
        var cmd = new Command(verb, verb == "add" ? "Add mirror URLs to the archive's mirror list" : "Remove mirror URLs from the archive's mirror list") { archive, urls };
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            var given = (pr.GetValue(urls) ?? []).Select(MirrorList.Normalize).ToList();
            if (given.FirstOrDefault(u => !MirrorList.IsValidUrl(u)) is { } bad)
                throw new UsageException($"'{bad}' is not an http(s) base URL (no user, query or fragment)");
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            int changed = 0;
            var list = await la.UpdateMirrorListAsync(now =>
            {
                var mirrors = new List<MirrorEntry>(now.Mirrors);
                foreach (string u in given)
                {
                    bool known = mirrors.Any(m => MirrorList.Normalize(m.Url) == u);
                    if (verb == "add" && !known)
                    {
                        mirrors.Add(new MirrorEntry { Url = u, Added = DateTimeOffset.UtcNow });
                        changed++;
                    }
                    else if (verb == "remove" && known)
                    {
                        mirrors.RemoveAll(m => MirrorList.Normalize(m.Url) == u);
                        changed++;
                    }
                }
                if (mirrors.Count > MirrorList.MaxMirrors) throw new UsageException($"a mirror list holds at most {MirrorList.MaxMirrors} mirrors");
                return now with { Mirrors = mirrors };
            }, ct);
            System.Console.WriteLine($"{(verb == "add" ? "added" : "removed")} {changed} mirror(s); {la.Root} now lists {list.Mirrors.Count}" +
                (la.Signer is null ? "" : $" (signed with key {la.Signer.Key.Id})"));
            return CommandAction.Ok;
        }));
        return cmd;
    }

    private static Command List()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var cmd = new Command("list", "Print the archive's mirror list and who signed it") { archive };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string location = pr.GetValue(archive)!;
            var backend = ArchiveStores.OpenBareBackend(pr, location, TimeSpan.FromSeconds(10));
            try
            {
                var (list, sig) = await MirrorDiscovery.ReadAsync(backend, ct);
                if (list is null)
                {
                    System.Console.WriteLine($"{location} publishes no mirror list");
                    return CommandAction.Ok;
                }
                var parsed = MirrorList.Parse(list, location);
                // Shown, not verified: clients check it against the keys they trust when they read the list.
                string signer = sig is null ? "unsigned" : $"signature claims key {SignatureFile.Parse(sig, "signature of mirrors.json").KeyId}";
                System.Console.WriteLine($"{parsed.Mirrors.Count} mirror(s), updated {parsed.Updated.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, {signer}");
                foreach (var m in parsed.Mirrors) System.Console.WriteLine($"  {m.Url}");
                return CommandAction.Ok;
            }
            finally
            {
                (backend as IDisposable)?.Dispose();
            }
        });
        return cmd;
    }
}
