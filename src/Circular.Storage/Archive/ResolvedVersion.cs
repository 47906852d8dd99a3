using Circular.Core.Archive;
using Circular.Core.Manifests;
using Circular.Core.Refs;

namespace Circular.Storage.Archive;

/// <summary>A version as a spec named it: the refs it was resolved in, its entry and its verified manifest.</summary>
public sealed record ResolvedVersion(ImageSpec Spec, ImageRefs Refs, VersionEntry Entry, Manifest Manifest)
{
    public string Image => Spec.Name;
    /// <summary>NAME@VERSION: the version's own name, whatever the spec said (latest, a tag).</summary>
    public string Name => $"{Spec.Name}@{Entry.Version}";

    public void Deconstruct(out ImageRefs refs, out VersionEntry entry, out Manifest manifest)
    {
        refs = Refs;
        entry = Entry;
        manifest = Manifest;
    }
}
