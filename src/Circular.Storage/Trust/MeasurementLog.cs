using System.Threading.Channels;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Signing;

namespace Circular.Storage.Trust;

/// <summary>
/// A measured-boot log (docs/format.md, "Measurement logs"): each manifest opened and then, in first-access order,
/// each chunk served is folded into a <see cref="MeasurementChain"/> and written as one line, flushed at once:
/// <c>sha256:CHAIN manifest DIGEST NAME@N</c> / <c>sha256:CHAIN chunk ID</c>. With a PCR extender the same values
/// extend a TPM PCR, in the same order, on one background worker (tpm2-tools runs a process per extend).
/// A value is measured once: later reads of it change nothing.
/// </summary>
public sealed class MeasurementLog : IAsyncDisposable
{
    public const string Header = "# circular measurement log v1: chain = SHA-256(chain || value) from 32 zero bytes; value = manifest digest or chunk id";

    private readonly object _lock = new();
    private readonly StreamWriter _writer;
    private readonly MeasurementChain _chain = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Channel<byte[]>? _tpmQueue;
    private readonly Task? _tpmWorker;
    private Exception? _tpmError;

    private MeasurementLog(StreamWriter writer, TpmPcr? tpm)
    {
        _writer = writer;
        if (tpm is null) return;
        _tpmQueue = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        _tpmWorker = Task.Run(async () =>
        {
            await foreach (var value in _tpmQueue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (_tpmError is not null) continue;
                try { await tpm.ExtendAsync(value, CancellationToken.None).ConfigureAwait(false); }
                catch (CircularException e) { _tpmError = e; }
            }
        });
    }

    public string Path { get; private init; } = "";
    public string ChainHex { get { lock (_lock) return _chain.Hex; } }

    public static MeasurementLog Create(string path, TpmPcr? tpm)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        var writer = new StreamWriter(stream) { NewLine = "\n" };
        writer.WriteLine(Header);
        writer.Flush();
        return new MeasurementLog(writer, tpm) { Path = path };
    }

    public void MeasureManifest(string digestHex, string label) =>
        Measure("manifest", digestHex, Convert.FromHexString(digestHex), " " + label);

    public void MeasureChunk(ChunkId id) => Measure("chunk", id.ToHex(), id.ToArray(), "");

    private void Measure(string kind, string hex, byte[] value, string suffix)
    {
        lock (_lock)
        {
            if (!_seen.Add(kind + hex)) return;
            _chain.Extend(value);
            _writer.WriteLine($"sha256:{_chain.Hex} {kind} {hex}{suffix}");
            _writer.Flush();
            if (_tpmQueue is not null && !_tpmQueue.Writer.TryWrite(value))
                throw new CircularException("measurement log is closed");
        }
    }

    /// <summary>Closes the log after every queued PCR extend ran; throws if any failed (the PCR is then wrong).</summary>
    public async ValueTask DisposeAsync()
    {
        _tpmQueue?.Writer.TryComplete();
        if (_tpmWorker is not null) await _tpmWorker.ConfigureAwait(false);
        lock (_lock) _writer.Dispose();
        if (_tpmError is not null) throw new CircularException($"TPM measurement failed: {_tpmError.Message}");
    }
}
