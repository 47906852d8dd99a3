using System.Diagnostics;
using Circular.Core.Errors;

namespace Circular.Storage.Trust;

/// <summary>
/// Extends a TPM 2.0 SHA-256 PCR through tpm2-tools (<c>tpm2_pcrextend N:sha256=HEX</c>), against /dev/tpmrm0 or the
/// TCTI in TPM2TOOLS_TCTI (e.g. swtpm:host=127.0.0.1,port=2321). PCR 23 is the default: resettable and unused by
/// firmware and boot loaders, so a measured Circular boot does not disturb the platform's own measurements.
/// </summary>
public sealed class TpmPcr(int index)
{
    public const int DefaultIndex = 23;
    public int Index { get; } = index;

    /// <summary>Checks that the tools and a TPM answer, so a bad setup fails before anything is served.</summary>
    public async Task<string> ReadAsync(CancellationToken ct)
    {
        string output = await RunAsync("tpm2_pcrread", [$"sha256:{Index}"], ct).ConfigureAwait(false);
        int at = output.IndexOf("0x", StringComparison.Ordinal);
        if (at < 0) throw new CircularException($"tpm2_pcrread printed no value for PCR {Index}: {output.Trim()}");
        return output[(at + 2)..].Trim().Split(['\n', ' '], 2)[0].ToLowerInvariant();
    }

    public Task ExtendAsync(byte[] value, CancellationToken ct) =>
        RunAsync("tpm2_pcrextend", [$"{Index}:sha256={Convert.ToHexStringLower(value)}"], ct);

    private static async Task<string> RunAsync(string tool, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new CircularException($"{tool} not found: apt-get install tpm2-tools"); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync(ct);
            var stderr = p.StandardError.ReadToEndAsync(ct);
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
            if (p.ExitCode != 0)
                throw new CircularException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {(await stderr.ConfigureAwait(false)).Trim().Split('\n')[0]}");
            return await stdout.ConfigureAwait(false);
        }
    }
}
