using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Manifests;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

/// <summary>circular profile push|show: boot profiles stored with a version (what its boots read, in order).</summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var cmd = new Command("profile",
            "Boot profiles: which blocks a run read, in order. Record one with 'boot/nbd/mount --record-profile FILE', store it with " +
            "'profile push'; clients then prefetch those blocks in the background and 'circular optimize' can pack them");
        cmd.Subcommands.Add(Push());
        cmd.Subcommands.Add(Show());
        return cmd;
    }

    private static Command Push()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME@VERSION (or NAME@TAG, NAME for latest) the profile belongs to" };
        var file = new Argument<string>("FILE") { Description = "Profile written by --record-profile" };
        var cmd = new Command("push", "Store a recorded profile with a version (replacing any earlier one); readers of that version prefetch in its order")
            { archive, spec, file };
        var signing = new SigningOptions();
        signing.AddTo(cmd);
        CommandAction.Set(cmd, CatalogRefresh.After(archive, async (pr, ct) =>
        {
            var s = ImageSpec.Parse(pr.GetValue(spec)!);
            string path = pr.GetValue(file)!;
            if (!File.Exists(path)) throw new NotFoundException($"no profile file {path}");
            byte[] bytes = await File.ReadAllBytesAsync(path, ct);
            var profile = BootProfile.Parse(bytes, path);
            var la = (await ArchiveStores.OpenWritableAsync(pr, pr.GetValue(archive)!, ct)).WithSigner(signing.Read(pr));
            var (_, entry, manifest) = await la.Reader.OpenVersionAsync(s, ct);
            if (profile.Size != entry.Size)
                throw new UsageException($"{path} was recorded on a {profile.Size}-byte image; {s.Name}@{entry.Version} is {entry.Size} bytes");
            if (profile.ManifestDigest != entry.ManifestDigest)
            {
                // The same name and number can stand for another manifest (an archive pushed again): say which.
                string recorded = profile.Image == s.Name && profile.Version == entry.Version
                    ? $"another manifest of {s.Name}@{entry.Version} ({profile.ManifestDigest[..Math.Min(12, profile.ManifestDigest.Length)]}, this archive's is {entry.ManifestDigest[..12]})"
                    : $"{profile.Image}@{profile.Version}, not {s.Name}@{entry.Version}";
                System.Console.Error.WriteLine($"circular: note: {path} was recorded on {recorded}; its offsets are used as they are");
            }
            string digest = await la.AttachProfileAsync(s.Name, entry.Version, bytes, ct);
            System.Console.WriteLine($"stored profile {digest[..12]} with {s.Name}@{entry.Version}: {Summary(profile, manifest)}");
            return CommandAction.Ok;
        }));
        return cmd;
    }

    private static Command Show()
    {
        var source = new Argument<string>("SOURCE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var spec = new Argument<string>("IMAGE") { Description = "NAME@VERSION" };
        var cmd = new Command("show", "Summarise a version's profile and packs") { source, spec };
        var client = new ClientOptions();
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var s = ImageSpec.Parse(pr.GetValue(spec)!);
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(source)!), ct);
            var (_, entry, manifest) = await stack.Reader.OpenVersionAsync(s, ct);
            string name = $"{s.Name}@{entry.Version}";
            if (await stack.Reader.GetProfileAsync(s.Name, entry, ct) is not { } profile)
            {
                System.Console.WriteLine($"{name} has no profile");
                return CommandAction.Ok;
            }
            System.Console.WriteLine($"{name} profile {entry.Profile![..12]}: {Summary(profile, manifest)}");
            if (await stack.Reader.GetPackIndexAsync(s.Name, entry, ct) is { } packs)
            {
                long raw = packs.Packs.Sum(p => (long)p.Length), stored = packs.Packs.Sum(p => p.Stored);
                System.Console.WriteLine($"{name} packs {entry.Packs![..12]}: {packs.Regions.Count} regions, {ByteSize.Format(raw)} in {packs.Packs.Count} packs ({ByteSize.Format(stored)} stored)");
            }
            else
            {
                System.Console.WriteLine($"{name} has no packs (make them with 'circular optimize')");
            }
            return CommandAction.Ok;
        });
        return cmd;
    }

    /// <summary>Reads, bytes read, distinct chunks touched and how long the run read for.</summary>
    public static string Summary(BootProfile profile, Manifest manifest)
    {
        var touched = profile.TouchedBlocks(manifest).ToList();
        int chunks = touched.Count;
        long chunkBytes = touched.Sum(i => manifest.Map.Length((int)i));
        long last = profile.Reads.Count == 0 ? 0 : profile.Reads.Max(r => r[0]);
        return $"{profile.Reads.Count} reads, {ByteSize.Format(profile.ReadBytes)} read from {chunks} chunks " +
            $"({ByteSize.Format(chunkBytes)}) over {last / 1000.0:0.0} s";
    }
}
