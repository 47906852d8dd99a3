namespace Circular.Fuse.Tests.Support;

/// <summary>
/// Tests that measure the whole process (allocated bytes) run alone, after the parallel ones: another test running
/// beside them would count in their measurement.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}
