namespace Circular.Server.Tests.Support;

/// <summary>
/// Tests that assert on elapsed time or on which mirror answered faster run alone, after the parallel ones, so a
/// busy two-core machine cannot turn a latency measurement into a false failure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing";
}
