using System.CommandLine;
using Circular.Core.Errors;
using Circular.Storage.Trust;

namespace Circular.Cli.Composition;

/// <summary>--measure, --tpm and --tpm-pcr: the measured-boot options of boot, nbd and mount.</summary>
public sealed class MeasureOptions
{
    public Option<string?> Measure { get; } = new("--measure") {
        Description = "Write a measurement log to FILE: the manifest digest, then every chunk served in first-access order, hash-chained like a TPM PCR (check it with 'circular attest verify')",
    };
    public Option<bool> Tpm { get; } = new("--tpm") { Description = "Also extend a TPM 2.0 PCR with each measurement (tpm2-tools; /dev/tpmrm0 or TPM2TOOLS_TCTI); needs --measure" };
    public Option<int> TpmPcr { get; } = new("--tpm-pcr") { Description = "The PCR --tpm extends", DefaultValueFactory = _ => Storage.Trust.TpmPcr.DefaultIndex };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(Measure);
        cmd.Options.Add(Tpm);
        cmd.Options.Add(TpmPcr);
    }

    /// <summary>Opens the log (and checks the TPM answers) or returns null without --measure.</summary>
    public async Task<MeasurementLog?> OpenAsync(ParseResult pr, CancellationToken ct)
    {
        string? path = pr.GetValue(Measure);
        bool tpm = pr.GetValue(Tpm);
        if (path is null)
        {
            if (tpm) throw new UsageException("--tpm needs --measure FILE (the log is what a verifier replays)");
            return null;
        }
        TpmPcr? pcr = null;
        if (tpm)
        {
            int index = pr.GetValue(TpmPcr);
            if (index is < 0 or > 23) throw new UsageException($"--tpm-pcr {index}: choose a PCR from 0 to 23");
            pcr = new TpmPcr(index);
            string initial = await pcr.ReadAsync(ct).ConfigureAwait(false);
            if (initial.Trim('0').Length != 0)
                System.Console.Error.WriteLine($"circular: warning: PCR {index} is not zero ({initial[..16]}…); it will not equal the log's chain (reset it or choose another PCR)");
        }
        return MeasurementLog.Create(path, pcr);
    }
}
