using System.CommandLine;
using Circular.Imaging.HotData;

namespace Circular.Cli.Composition;

/// <summary>--record-profile, --no-prefetch and --no-packs: the boot-latency options of boot, nbd and mount.</summary>
public sealed class HotDataCliOptions
{
    public Option<string?> RecordProfile { get; } = new("--record-profile") {
        HelpName = "FILE",
        Description = "Record which blocks this run reads, in first-read order, into FILE (store it with 'circular profile push')",
    };
    public Option<bool> NoPrefetch { get; } = new("--no-prefetch") { Description = "Do not prefetch a version's profiled data in the background" };
    public Option<bool> NoPacks { get; } = new("--no-packs") { Description = "Do not read a version's hot pages from its packs (made by 'circular optimize'); fetch whole chunks" };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(RecordProfile);
        cmd.Options.Add(NoPrefetch);
        cmd.Options.Add(NoPacks);
    }

    public HotDataOptions Read(ParseResult pr) => new() {
        RecordProfile = pr.GetValue(RecordProfile) is { } path ? Path.GetFullPath(path) : null,
        Prefetch = !pr.GetValue(NoPrefetch),
        Packs = !pr.GetValue(NoPacks),
        Log = Console.ConsoleLog.Instance,
    };
}
