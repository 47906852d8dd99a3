#!/usr/bin/env python3
"""Prints the WAN benchmark table: usage report.py RESULTS READS_JSON ZST_BYTES ARCHIVE_BYTES"""
import json, math, statistics, sys

NAMES = {
    "a": "(a) circular, on demand",
    "b": "(b) circular, profile prefetch",
    "c": "(c) circular, packs",
    "d": "(d) nbdkit curl + cache filter",
    "e": "(e) qemu curl driver",
    "f": "(f) download .zst, boot local",
    "g": "(g) local raw file",
}
results, reads = sys.argv[1], json.load(open(sys.argv[2]))
zst, archive = int(sys.argv[3]), int(sys.argv[4])
rows = {}
order = []
for line in open(results):
    parts = line.split(maxsplit=4)
    name, rtt = parts[0], int(parts[1])
    if rtt not in order:
        order.append(rtt)
    if parts[2] == "skip":
        rows[name, rtt] = None
        continue
    rows.setdefault((name, rtt), []).append((float(parts[2]), json.loads(parts[4]), float(parts[3])))


def median_run(runs):
    """With REPEAT > 1: the median time, and the bytes and load of the run with that time (or nearest)."""
    times = [r[0] for r in runs if not math.isnan(r[0])]
    if not times:
        return runs[0] + (len(runs), [])
    m = statistics.median(times)
    nearest = min((r for r in runs if not math.isnan(r[0])), key=lambda r: abs(r[0] - m))
    return (m, nearest[1], nearest[2], len(runs), sorted(times))


rows = {k: (median_run(v) if v is not None else None) for k, v in rows.items()}
MiB = 2 ** 20
packed = reads["zstdOfRead4KiBPages"]
print(f"boot reads (local, through nbdkit's log filter): {reads['reads']} reads, {reads['readBytes'] / MiB:.1f} MiB, "
      f"{reads['distinct256KiBBlocks']} distinct 256 KiB blocks, {reads['distinct4KiBBytes'] / MiB:.1f} MiB distinct 4 KiB pages; "
      f"zstd -3 of the pages read {packed / MiB:.1f} MiB, of the touched 256 KiB blocks {reads['zstdOfTouched256KiBBlocks'] / MiB:.1f} MiB")
print(f"image: 2048 MiB raw, {zst / MiB:.1f} MiB .zst (-9), archive {archive / MiB:.1f} MiB on disk")
print()
print(f"{'configuration':32} {'RTT':>6} {'marker s':>9} {'added s':>8} {'MiB down':>9} {'MiB up':>7} {'conns':>6} {'x packed':>9} {'load':>5}")
for rtt in order:
    base = rows.get(("g", rtt))
    for name in "abcdefg":
        if (name, rtt) not in rows:
            continue
        r = rows[name, rtt]
        if r is None:
            print(f"{NAMES[name]:32} {rtt:>4}ms  skipped: its setup failed or this circular lacks the commands")
            continue
        t, s, load, n, times = r
        added = t - base[0] if base and not math.isnan(t) and not math.isnan(base[0]) else math.nan
        down, up = s["serverToClientBytes"], s["clientToServerBytes"]
        net = name != "g"
        print(f"{NAMES[name]:32} {rtt:>4}ms {t:9.1f} "
              + (f"{added:8.1f} {down / MiB:9.1f} {up / MiB:7.2f} {s['connections']:6d} {down / packed:9.2f}" if net else f"{'-':>8} {'-':>9} {'-':>7} {'-':>6} {'-':>9}")
              + f" {load:5.1f}" + (f"  median of {n}: " + " ".join(f"{x:.1f}" for x in times) if n > 1 else ""))
print()
print("added = marker time - (g) at the same RTT; MiB down = server->client bytes through the proxy until the marker;")
print("x packed = MiB down / zstd -3 of the distinct 4 KiB pages the boot reads (issue 6 goal for (c): <= 1.3);")
print("with REPEAT=N each row is the median of N runs (its bytes are those of the run nearest the median);")
print("load = 1-minute load average when the run started (2 cores: above 2, other jobs slow the guest down)")
