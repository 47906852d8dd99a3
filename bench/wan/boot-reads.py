#!/usr/bin/env python3
"""What a boot read, from an nbdkit log filter log: usage boot-reads.py LOG IMAGE SECONDS > reads.json

Counts reads, bytes, distinct 256 KiB blocks and distinct 4 KiB pages, and compresses the data actually read with
zstd -3 (the archive's default codec and level): the distinct 4 KiB pages in first-access order as one stream (what
ideal hot-block packs hold) and, for scale, each touched 256 KiB block on its own (what on-demand chunks cost).
"""
import json, re, subprocess, sys

log, image, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
reads = []
for line in open(log):
    m = re.search(r"\bRead id=\d+ offset=(0x[0-9a-f]+) count=(0x[0-9a-f]+)", line)
    if m:
        reads.append((int(m[1], 16), int(m[2], 16)))
pages, seen = [], set()
blocks, bseen = [], set()
for off, n in reads:
    for p in range(off >> 12, (off + n - 1 >> 12) + 1):
        if p not in seen:
            seen.add(p)
            pages.append(p)
    for b in range(off >> 18, (off + n - 1 >> 18) + 1):
        if b not in bseen:
            bseen.add(b)
            blocks.append(b)


def zstd(data):
    return len(subprocess.run(["zstd", "-q", "-3", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout)


with open(image, "rb") as f:
    def read(off, n):
        f.seek(off)
        return f.read(n)
    packed = b"".join(read(p << 12, 4096) for p in pages)
    chunk_bytes = sum(zstd(read(b << 18, 1 << 18)) for b in blocks)
print(json.dumps({
    "seconds": float(seconds),
    "reads": len(reads),
    "readBytes": sum(n for _, n in reads),
    "distinct256KiBBlocks": len(blocks),
    "distinct4KiBBytes": len(pages) * 4096,
    "zstdOfRead4KiBPages": zstd(packed),
    "zstdOfTouched256KiBBlocks": chunk_bytes,
}))
