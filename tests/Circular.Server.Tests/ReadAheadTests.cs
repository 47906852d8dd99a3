using System.Collections.Concurrent;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Server.Tests.Support;
using Circular.Storage.Backends;

namespace Circular.Server.Tests;

/// <summary>
/// Opening a remote archive asks for its metadata at once (<see cref="ReadAheadBackend"/> in the client's stack), the
/// first image's refs with it: the refs are requested before circular.json has been answered, and once in all.
/// </summary>
public sealed class ReadAheadTests
{
    [Fact]
    public async Task Open_requests_the_first_images_refs_before_circular_json_is_answered_and_reads_them_once()
    {
        using var archive = await TestArchive.CreateAsync();
        await archive.PushAsync("os", ImageData.Os1(archive.ChunkSize));
        var remote = new GatedBackend(new FileBackend(archive.Root), gate: ArchiveLayout.ConfigPath, until: ArchiveLayout.RefsPath("os"));
        await using var client = await ArchiveClient.OpenAsync(new ArchiveClientOptions {
            Location = "remote:test",
            Backend = remote,
            FirstImage = "os",
            Trust = TrustOptions.None,
        }, CancellationToken.None).WaitAsync(Limits.Operation);
        var version = await client.OpenVersionAsync(ImageSpec.Parse("os"), CancellationToken.None);

        Assert.Equal(1, version.Entry.Version);
        Assert.True(remote.OpenedByTheAwaitedRead, "circular.json was answered only after its gate timed out: the refs were not read ahead");
        Assert.Equal(1, remote.Reads(ArchiveLayout.RefsPath("os")));
        Assert.Equal(1, remote.Reads(ArchiveLayout.ConfigPath));
    }

    /// <summary>Holds back the answer for <c>gate</c> until <c>until</c> has been requested (or 10 s pass).</summary>
    private sealed class GatedBackend(IArchiveBackend inner, string gate, string until) : IArchiveBackend, IDisposable
    {
        private readonly ConcurrentDictionary<string, int> _reads = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool OpenedByTheAwaitedRead { get; private set; }
        public int Reads(string path) => _reads.GetValueOrDefault(path);
        public string Location => inner.Location;
        public bool IsWritable => false;

        public async Task<BackendObject?> TryReadAsync(ObjectHandle handle, ReadHints hints, CancellationToken ct)
        {
            _reads.AddOrUpdate(handle.Path, 1, (_, n) => n + 1);
            if (handle.Path == until) _requested.TrySetResult();
            if (handle.Path == gate)
            {
                OpenedByTheAwaitedRead = await Task.WhenAny(_requested.Task, Task.Delay(TimeSpan.FromSeconds(10), ct)) == _requested.Task;
            }
            return await inner.TryReadAsync(handle, hints, ct);
        }

        public Task WriteAsync(ObjectHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException();
        public Task<bool> ExistsAsync(ObjectHandle handle, CancellationToken ct) => inner.ExistsAsync(handle, ct);
        public IAsyncEnumerable<BackendEntry> ListAsync(ObjectKind kind, string? image, CancellationToken ct) => inner.ListAsync(kind, image, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => throw new NotSupportedException();
        public void Dispose() { }
    }
}
