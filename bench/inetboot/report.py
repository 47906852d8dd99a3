#!/usr/bin/env python3
"""Prints the InetBoot benchmark's markdown table: usage report.py HEADER RESULTS SIZES NOTES ACCESS_LOG (run.sh's files).

RESULTS: one line per run, "NAME REP SECONDS LOAD WAITED STATS-JSON" ("nan" when the marker never came) or "NAME skip".
SIZES: "KEY BYTES" lines (and "initramfs-build-s SECONDS"). NOTES: free text, printed under the table.
ACCESS_LOG: nginx's log ("MSEC CONN METHOD URI range=… status=… sent=…"), each run's requests followed by "== NAME REP".
Beside RESULTS, stamps-NAME-REP.log: each console line with the second it arrived (until-marker.py --stamps), from which
the phases of (di) and (ui) are placed.
"""
import json, math, os, re, statistics, sys

M = os.environ.get("MEMORY", "1G")
ROWS = [  # name, label, RAM, goal (seconds over (d), None: no goal)
    ("d", "(d) local disk, the image's kernel + Debian initrd (baseline)", M, None),
    ("a", "(a) diskless: -kernel + Circular initramfs, root from the archive", M, 3),
    ("a256", "(a) the same in 256 MB", "256M", 3),
    ("b", "(b) iPXE (-boot n): script, kernel, initramfs over the WAN, then (a)", M, 5),
    ("c", "(c) host-side `circular boot`, profile + packs, local kernel/initrd", M, None),
    ("e", "(e) dracut livenet: squashfs (zstd -19) downloaded into RAM", M, None),
    ("e2", "(e2) download the .zst (-9), boot it locally", M, None),
    ("f", "(f) host-side `circular boot`, kernel + Debian initrd from the archive", M, 5),
    ("fc", "(f) the same with `--initrd circular`", M, 5),
    ("di", "(di) issue 19 baseline: `circular iso ARCHIVE debian` on a CD", M, None),
    ("ui", "(ui) issue 19: the universal ISO (menu 1 s, kexec into the version's kernel); compare with (di)", M, None),
]
header, results, sizes, notes, access = (open(p).read() for p in sys.argv[1:6])
# Per run: the chunks fetched one by one (GET /chunks/…): reads neither the packs nor the prefetch covered.
chunk_gets, pending = {}, [0, 0]
for line in access.splitlines():
    if line.startswith("== "):
        _, name, rep = line.split()
        chunk_gets[name, int(rep)] = tuple(pending)
        pending = [0, 0]
    elif " /chunks/" in line:
        pending[0] += 1
        pending[1] += int(line.rsplit("sent=", 1)[1])
runs, skipped = {}, set()
for line in results.splitlines():
    parts = line.split(maxsplit=5)
    if len(parts) == 2 and parts[1] == "skip":
        skipped.add(parts[0])
        continue
    name, rep, t, load, waited, stats = parts
    runs.setdefault(name, []).append((float(t), float(load), int(waited), json.loads(stats), chunk_gets.get((name, int(rep)))))
size = {}
for line in sizes.splitlines():
    k, v = line.split()
    size[k] = float(v)
MiB, MB = 2 ** 20, 10 ** 6


def summary(name):
    """(median seconds or nan, the run nearest the median, all times)"""
    rs = runs.get(name, [])
    times = [r[0] for r in rs if not math.isnan(r[0])]
    if not times:
        return math.nan, (rs[0] if rs else None), [r[0] for r in rs]
    m = statistics.median(times)
    return m, min((r for r in rs if not math.isnan(r[0])), key=lambda r: abs(r[0] - m)), [r[0] for r in rs]


base = summary("d")[0]
print(header.rstrip())
print()
print("| configuration | RAM | marker s | over (d) s | goal | MiB down | conns | chunk GETs | load | waited s |")
print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
for name, label, ram, goal in ROWS:
    if name in skipped and name not in runs:
        print(f"| {label} | {ram} | skipped (see notes) | | | | | | | |")
        continue
    if name not in runs:
        continue
    m, r, times = summary(name)
    shown = "did not boot" if math.isnan(m) else f"{m:.1f}"
    if len(times) > 1:
        shown += " (" + ", ".join("nan" if math.isnan(x) else f"{x:.1f}" for x in sorted(times)) + ")"
    over = m - base if not (math.isnan(m) or math.isnan(base)) else math.nan
    if name == "d":
        over_s, goal_s = "-", "-"
    else:
        over_s = "-" if math.isnan(over) else f"{over:+.1f}"
        if goal is None:
            goal_s = "-"
        elif math.isnan(base):
            goal_s = f"<= +{goal} s: (no (d) in this run)"
        elif math.isnan(over):
            goal_s = f"<= +{goal} s: **not met**"
        else:
            goal_s = f"<= +{goal} s: " + ("met" if over <= goal else "**not met**")
        if name == "a256":
            goal_s += "; boots in 256 MB: " + ("yes" if not math.isnan(m) else "**no**")
    s = r[3] if r else {"serverToClientBytes": 0, "connections": 0}
    net = name != "d"
    cg = r[4] if r and r[4] else None
    print(f"| {label} | {ram} | {shown} | {over_s} | {goal_s} | "
          + (f"{s['serverToClientBytes'] / MiB:.1f} | {s['connections']} | " if net else "- | - | ")
          + (f"{cg[0]} ({cg[1] / MiB:.1f} MiB)" if net and cg and cg[0] else "-" if not net else "0")
          + (f" | {r[1]:.1f} | {r[2]}" if r else " | | ") + " |")
print()
print("marker s = seconds from the start of the command (qemu, circular, curl) to the guest's ready marker (median of the"
      " runs listed, when more than one); over (d) = marker s - (d)'s; MiB down = server->client bytes through the proxy"
      " until the marker (of the run nearest the median); conns = TCP connections through it; chunk GETs = chunks fetched"
      " one by one, from nginx's log: reads neither the packs nor the profile's prefetch covered (in (f) also the kernel's"
      " and initrd's chunks); load = 1-minute load average"
      " when the run started (2 cores: above 2, other jobs slow the guest down); waited = seconds spent waiting for other"
      " QEMUs to finish before the run.")
print()


def mb(key):
    return f"{size[key]:,.0f} bytes = {size[key] / MB:.1f} MB ({size[key] / MiB:.1f} MiB)"


# Issue 19: where (di)'s and (ui)'s time goes, and (ui)'s goal: at most one kernel start (the direct boot's time from
# power-on to its initramfs, in this run) + 1 s over (di).
PHASES = [  # name, pattern, which occurrence (1: first, 2: second)
    ("GRUB boots its menu entry", r"^\s*Booting `|automatically in 0s", 1),
    ("initramfs: Circular client starts", r"circular: booting ", 1),
    ("network up", r"circular: network:", 1),
    ("menu answered, fetching the version's kernel", r"circular: starting .* with its own kernel", 1),
    ("kernel loaded for kexec", r"circular: loaded .*'s kernel", 1),
    ("kexec: the old kernel stops", r"circular: kexec:", 1),
    ("second kernel's initramfs: client starts", r"circular: booting ", 2),
    ("second kernel: network up", r"circular: network:", 2),
    ("root attached", r"attached as /dev/nbd", 1),
    ("root handed to systemd", r"serving the root file system", 1),
    ("marker", None, 1),
]
work = os.path.dirname(os.path.abspath(sys.argv[2]))


def phases(name, rep):
    path = os.path.join(work, f"stamps-{name}-{rep}.log")
    found, seen = {}, {}
    if not os.path.exists(path):
        return found
    for line in open(path, errors="replace"):
        m = re.match(r"\s*([\d.]+) (.*)", line)
        if not m:
            continue
        t, text = float(m[1]), m[2]
        for pname, rx, nth in PHASES:
            if rx is None or pname in found or not re.search(rx, text):
                continue
            seen[pname] = seen.get(pname, 0) + 1
            if seen[pname] == nth:
                found[pname] = t
    return found


def phase_medians(name):
    reps = [phases(name, i) for i in range(1, len(runs.get(name, [])) + 1)]
    for i, r in enumerate(reps):
        r["marker"] = runs[name][i][0]
    return {p: statistics.median([r[p] for r in reps if p in r and not math.isnan(r[p])] or [math.nan]) for p, _, _ in PHASES}


if "di" in runs and "ui" in runs:
    di, ui = phase_medians("di"), phase_medians("ui")
    print("| phase of issue 19's boots (s from QEMU start, median) | (di) direct ISO | (ui) universal ISO |")
    print("|---|---:|---:|")
    for pname, _, _ in PHASES:
        cells = ["-" if math.isnan(v) else f"{v:.1f}" for v in (di[pname], ui[pname])]
        print(f"| {pname} | " + " | ".join(cells) + " |")
    kstart = di["initramfs: Circular client starts"]
    over = summary("ui")[0] - summary("di")[0]
    print()
    print(f"- (ui) over (di): {over:+.1f} s; goal: at most one kernel start ((di)'s power-on to initramfs, "
          f"{kstart:.1f} s) + 1 s = {kstart + 1:.1f} s: " + ("met" if over <= kstart + 1 else "**not met**"))
    print()

if "initramfs" in size:
    print(f"- Circular initramfs (`circular initramfs --kernel-version`, zstd): {mb('initramfs')}, built in "
          f"{size.get('initramfs-build-s', math.nan):.0f} s; goal <= 12 MB: " + ("met" if size["initramfs"] <= 12 * MB else "**not met**"))
if "netboot-initramfs" in size:
    print(f"- the one `circular netboot` wrote (fetched by iPXE in (b)): {mb('netboot-initramfs')}")
if "iso" in size:
    print(f"- `circular iso` (xz initramfs, GRUB BIOS + UEFI): {mb('iso')}; goal <= 24 MB: "
          + ("met" if size["iso"] <= 24 * MB else "**not met**"))
for key, what in (("kernel", "the image's kernel"), ("debian-initrd", "Debian's initrd (initramfs-tools)"),
                  ("dracut-initramfs", "dracut livenet initramfs (zstd)"), ("squashfs", "squashfs of the root file system (zstd -19)")):
    if key in size:
        print(f"- {what}: {mb(key)}")
if notes.strip():
    print()
    print("Notes:")
    print()
    print(notes.rstrip())
