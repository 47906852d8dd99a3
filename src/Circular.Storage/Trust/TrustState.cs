using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Circular.Core.Signing;

namespace Circular.Storage.Trust;

/// <summary>
/// The client's trust state on local disk (default ~/.local/share/circular/trust, or $XDG_DATA_HOME/circular/trust):
/// keys pinned on first use, per archive location (<c>pins/HASH.json</c>), and the highest refs serial seen per
/// signing key and image (<c>serials/KEYID/IMAGE</c>), which is what makes a replayed older refs file detectable.
/// Files are replaced atomically (temporary file, rename), so concurrent clients never read a partial one.
/// </summary>
public sealed class TrustState(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    public static string DefaultRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        string data = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(data, "circular", "trust");
    }

    public string PinPath(string location) =>
        Path.Combine(Root, "pins", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(location)))[..16] + ".json");

    /// <summary>The keys pinned for an archive location, or null when none was pinned yet.</summary>
    public IReadOnlyList<VerifyingKey>? TryGetPin(string location)
    {
        string path = PinPath(location);
        if (!File.Exists(path)) return null;
        var pin = JsonSerializer.Deserialize(File.ReadAllBytes(path), TrustJson.Default.Pin);
        return pin?.Keys.Select(pem => VerifyingKey.FromPem(pem, path)).ToList();
    }

    public string SavePin(string location, IEnumerable<VerifyingKey> keys)
    {
        string path = PinPath(location);
        WriteAtomic(path, JsonSerializer.SerializeToUtf8Bytes(new Pin(location, keys.Select(k => k.ToPem()).ToList()), TrustJson.Default.Pin));
        return path;
    }

    /// <summary>Highest refs serial seen for an image signed by a key (0 when never seen).</summary>
    public long HighestSerial(string keyId, string image)
    {
        string path = SerialPath(keyId, image);
        if (!File.Exists(path)) return 0;
        return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : 0;
    }

    public void RecordSerial(string keyId, string image, long serial)
    {
        if (serial <= HighestSerial(keyId, image)) return;
        WriteAtomic(SerialPath(keyId, image), Encoding.ASCII.GetBytes(serial.ToString(CultureInfo.InvariantCulture) + "\n"));
    }

    private string SerialPath(string keyId, string image) => Path.Combine(Root, "serials", keyId, image);

    private static void WriteAtomic(string path, byte[] data) => Posix.AtomicFile.Write(path, data, durable: false);

    internal sealed record Pin(string Location, List<string> Keys);
}

/// <summary>Source-generated serializer for pin files (no reflection in the native build).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(TrustState.Pin))]
internal sealed partial class TrustJson : System.Text.Json.Serialization.JsonSerializerContext;
