using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Cli.Console;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class VerifyCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var spec = new Argument<string?>("IMAGE") { Description = "Check only NAME (all its versions) or NAME@VERSION", Arity = ArgumentArity.ZeroOrOne };
        var client = new ClientOptions();
        var cmd = new Command("verify", "Re-hash every referenced chunk; name each missing or corrupt one and the versions it breaks") { archive, spec };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            ImageSpec? only = pr.GetValue(spec) is { } s ? ImageSpec.Parse(s) : null;
            string location = pr.GetValue(archive)!;
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, location), ct);
            var verifier = new ArchiveVerifier(stack.Reader);
            var plan = await verifier.PlanAsync(only, ct);
            List<ArchiveVerifier.Problem> problems;
            using (ProgressBar.Start("verify", plan.Chunks.Count, () => verifier.Checked))
                problems = await verifier.CheckAsync(plan, ArchiveLocation.IsUrl(location) ? 16 : Environment.ProcessorCount * 2, ct);
            foreach (var p in problems.OrderBy(p => p.Subject, StringComparer.Ordinal))
                System.Console.WriteLine($"BAD {p.Subject}: {p.Detail}; breaks {string.Join(", ", p.Breaks)}");
            System.Console.WriteLine($"checked {plan.Versions} versions, {plan.Chunks.Count} chunks{(plan.Packs.Count > 0 ? $", {plan.Packs.Count} packs" : "")}: {(problems.Count == 0 ? "all good" : $"{problems.Count} problems")}");
            return problems.Count == 0 ? CommandAction.Ok : CommandAction.Failed;
        });
        return cmd;
    }
}
