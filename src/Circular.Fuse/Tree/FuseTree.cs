using System.Diagnostics;
using Circular.Fuse.Protocol;
using Circular.Imaging.Catalog;
using Microsoft.Extensions.Logging;

namespace Circular.Fuse.Tree;

/// <summary>
/// root / &lt;image&gt; / &lt;selector&gt;.img, rebuilt from <see cref="IImageCatalog.ListAsync"/> at most every
/// <see cref="RefreshInterval"/> when someone looks into a directory. A path whose export changes (say latest.img
/// moving to a new version) gets a new node id, so the kernel never serves the old version's cached pages under it.
/// </summary>
internal sealed class FuseTree
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private readonly IImageCatalog _catalog;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly Dictionary<ulong, Node> _byId = [];
    private ulong _nextId = FuseConstants.RootNodeId + 1;
    private long _lastRefresh = long.MinValue;

    public FuseTree(IImageCatalog catalog, ILogger log)
    {
        _catalog = catalog;
        _log = log;
        Root = new DirectoryNode(FuseConstants.RootNodeId, NowSeconds());
        _byId.Add(Root.Id, Root);
    }

    public DirectoryNode Root { get; }

    public Node? Find(ulong nodeId)
    {
        lock (_gate) return _byId.GetValueOrDefault(nodeId);
    }

    public Node? FindChild(DirectoryNode parent, string name)
    {
        lock (_gate) return parent.Children.GetValueOrDefault(name);
    }

    /// <summary>Children sorted by name, copied so READDIR offsets stay stable while the tree changes.</summary>
    public (string Name, Node Node)[] Snapshot(DirectoryNode dir)
    {
        lock (_gate)
        {
            var list = dir.Children.Select(kv => (kv.Key, kv.Value)).ToArray();
            Array.Sort(list, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            return list;
        }
    }

    public int FileCount
    {
        get { lock (_gate) return _byId.Count; }
    }

    public long TotalBytes
    {
        get
        {
            lock (_gate) return Root.Children.Values.OfType<DirectoryNode>().SelectMany(d => d.Children.Values).OfType<FileNode>().Sum(f => f.Entry.Size);
        }
    }

    /// <summary>Re-reads the catalog if the listing is older than the refresh interval; concurrent callers share one read.</summary>
    public async ValueTask RefreshIfStaleAsync(CancellationToken ct)
    {
        if (!IsStale()) return;
        await _refreshing.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!IsStale()) return;
            var entries = await _catalog.ListAsync(ct).ConfigureAwait(false);
            Apply(entries);
            Interlocked.Exchange(ref _lastRefresh, Stopwatch.GetTimestamp());
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private bool IsStale()
    {
        long last = Interlocked.Read(ref _lastRefresh);
        return last == long.MinValue || Stopwatch.GetElapsedTime(last) >= RefreshInterval;
    }

    private void Apply(IReadOnlyList<CatalogEntry> entries)
    {
        long now = NowSeconds();
        var wanted = new Dictionary<string, Dictionary<string, CatalogEntry>>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            string file = entry.Selector + ".img";
            if (!IsPlainName(entry.Image) || !IsPlainName(entry.Selector))
            {
                _log.SkippedExport(entry.Name);
                continue;
            }
            if (!wanted.TryGetValue(entry.Image, out var files)) wanted[entry.Image] = files = new(StringComparer.Ordinal);
            files[file] = entry;
        }

        lock (_gate)
        {
            foreach (var name in Root.Children.Keys.Where(n => !wanted.ContainsKey(n)).ToList()) Root.Children.Remove(name);
            foreach (var (image, files) in wanted)
            {
                if (Root.Children.GetValueOrDefault(image) is not DirectoryNode dir)
                {
                    dir = new DirectoryNode(_nextId++, now);
                    _byId.Add(dir.Id, dir);
                    Root.Children[image] = dir;
                }
                foreach (var name in dir.Children.Keys.Where(n => !files.ContainsKey(n)).ToList()) dir.Children.Remove(name);
                foreach (var (name, entry) in files)
                {
                    if (dir.Children.GetValueOrDefault(name) is FileNode existing && existing.Entry == entry) continue;
                    var node = new FileNode(_nextId++, now, entry);
                    _byId.Add(node.Id, node);
                    dir.Children[name] = node;
                }
            }
            Root.SubdirectoryCount = Root.Children.Count;
        }
    }

    private static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 250 && name != "." && name != ".." && !name.Contains('/') && !name.Contains('\0');

    private static long NowSeconds() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
