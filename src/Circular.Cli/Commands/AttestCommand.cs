using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Refs;
using Circular.Core.Signing;
using Circular.Storage.Archive;
using Circular.Storage.Trust;

namespace Circular.Cli.Commands;

/// <summary>`circular attest verify LOG ARCHIVE`: replays a measurement log against the archive it claims to come from.</summary>
public static class AttestCommand
{
    public static Command Create() => new("attest", "Check measured-boot logs") { Verify() };

    private static Command Verify()
    {
        var log = new Argument<string>("LOG") { Description = "Measurement log written by --measure" };
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory or URL the measured boot read from" };
        var expect = new Option<string?>("--expect") { Description = "The final chain value must equal this (e.g. the PCR value read from the TPM)" };
        var client = new ClientOptions();
        var cmd = new Command("verify",
            "Recompute the log's hash chain, check each manifest is a version of the archive (signed, with --trust or a pinned key) and each chunk belongs to a measured version; print the final chain value")
            { log, archive, expect };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string path = pr.GetValue(log)!;
            if (!File.Exists(path)) throw new NotFoundException($"measurement log {path} does not exist");
            var events = MeasurementEvent.ParseLog(await File.ReadAllTextAsync(path, ct), path);
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(archive)!), ct);
            var chain = new MeasurementChain();
            var allowed = new HashSet<ChunkId>();
            var versions = new List<string>();
            int chunks = 0;
            foreach (var e in events)
            {
                chain.Extend(Convert.FromHexString(e.Value));
                if (chain.Hex != e.Chain)
                    throw new TrustException($"{path} line {e.Line}: chain value {e.Chain[..12]}… does not follow from the lines before (expected {chain.Hex[..12]}…): the log was altered");
                if (e.Kind == "manifest")
                {
                    var (image, entry) = await FindVersionAsync(stack.Reader, e, ct);
                    var manifest = await stack.Reader.GetManifestAsync(image, entry, ct);
                    allowed.UnionWith(manifest.ReferencedChunks());
                    versions.Add($"{image}@{entry.Version}");
                }
                else
                {
                    if (!allowed.Contains(ChunkId.Parse(e.Value)))
                        throw new TrustException($"{path} line {e.Line}: chunk {e.Value[..12]}… belongs to no measured version ({(versions.Count == 0 ? "no manifest measured before it" : string.Join(", ", versions))})");
                    chunks++;
                }
            }
            if (pr.GetValue(expect) is { } want)
            {
                string w = want.StartsWith("sha256:", StringComparison.Ordinal) ? want[7..] : want;
                if (w.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) w = w[2..];
                if (!string.Equals(w, chain.Hex, StringComparison.OrdinalIgnoreCase))
                    throw new TrustException($"final chain sha256:{chain.Hex} is not the expected {want}");
            }
            System.Console.WriteLine($"verified {events.Count} measurements: {string.Join(", ", versions)}; {chunks} chunks");
            System.Console.WriteLine($"sha256:{chain.Hex}");
            return CommandAction.Ok;
        });
        return cmd;
    }

    private static ImageSpec? TryParse(string label)
    {
        try { return ImageSpec.Parse(label); }
        catch (UsageException) { return null; }
    }

    /// <summary>The version a measured manifest digest belongs to: the labelled NAME@N first, else any version with it.</summary>
    private static async Task<(string Image, VersionEntry Entry)> FindVersionAsync(ArchiveReader reader, MeasurementEvent e, CancellationToken ct)
    {
        if (e.Label is { } label && TryParse(label) is { Number: int n } spec &&
            await reader.TryGetRefsAsync(spec.Name, ct, explicitVersion: true) is { } labelled &&
            labelled.Find(n) is { } entry && entry.ManifestDigest == e.Value)
            return (spec.Name, entry);
        foreach (var image in await reader.ListImagesAsync(ct))
        {
            var refs = await reader.TryGetRefsAsync(image, ct, explicitVersion: true);
            if (refs?.Versions.Find(v => v.ManifestDigest == e.Value) is { } v) return (image, v);
        }
        throw new TrustException($"line {e.Line}: manifest {e.Value[..12]}… {(e.Label is null ? "" : $"({e.Label}) ")}is no version of {reader.Backend.Location}");
    }
}
