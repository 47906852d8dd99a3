using Circular.Core.Manifests;

namespace Circular.Imaging.Images;

/// <summary>
/// An archive version as a block image: the chunked image and the layers that stand in for it below an overlay
/// (packs, profile recorder). The overlay needs the manifest to know which version its changes apply to.
/// </summary>
public interface IVersionImage : IBlockImage
{
    /// <summary>NAME@VERSION, for messages.</summary>
    string Name { get; }
    Manifest Manifest { get; }
}
