using Circular.Fuzz;

namespace Circular.Fuzz.Tests;

/// <summary>
/// CI's share of the fuzzing (fuzz/README.md): every input of every target's corpus (fuzz/corpus/TARGET, the seeds
/// and what long runs kept) and every crash found and fixed (fuzz/regressions/TARGET) runs once through the same
/// target AFL++ runs, deterministically. A parser that crashes or hangs on any of them fails the build.
/// </summary>
public sealed class CorpusReplayTests
{
    private static string FuzzDir
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, "fuzz", "corpus"))) return Path.Combine(d.FullName, "fuzz");
            throw new DirectoryNotFoundException("fuzz/corpus not found above " + AppContext.BaseDirectory);
        }
    }

    public static TheoryData<string> TargetNames() => [.. Targets.All.Keys];

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Every_corpus_and_regression_input_is_handled(string target)
    {
        var inputs = new[] { "corpus", "regressions" }
            .Select(kind => Path.Combine(FuzzDir, kind, target))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal).ToList();
        Assert.True(inputs.Count > 0, $"target {target} has no seed corpus in fuzz/corpus/{target}");
        foreach (var file in inputs)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try { Targets.All[target](File.ReadAllBytes(file)); }
            catch (Exception e) { Assert.Fail($"{target}: {Path.GetRelativePath(FuzzDir, file)} crashes the parser: {e}"); }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{target}: {file} took {clock.Elapsed.TotalSeconds:0.0} s");
        }
    }

    [Fact]
    public void Truncations_and_bit_flips_of_every_seed_are_handled()
    {
        // A deterministic taste of what AFL++ does, so CI catches a parser that breaks on the simplest damage.
        foreach (var (target, run) in Targets.All)
        {
            string dir = Path.Combine(FuzzDir, "corpus", target);
            foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            {
                byte[] seed = File.ReadAllBytes(file);
                var rng = new Random(seed.Length);
                for (int i = 0; i < 24; i++)
                {
                    byte[] input = i < 8 ? seed[..(seed.Length * i / 8)] : (byte[])seed.Clone();
                    if (i >= 8 && input.Length > 0) input[rng.Next(input.Length)] ^= (byte)(1 << rng.Next(8));
                    try { run(input); }
                    catch (Exception e) { Assert.Fail($"{target}: mutation {i} of {Path.GetFileName(file)} crashes the parser: {e}"); }
                }
            }
        }
    }
}
