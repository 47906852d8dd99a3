#!/usr/bin/env python3
"""Runs a command and prints the seconds from its start to the first output line containing MARKER.

usage: until-marker.py [--timeout S] [--log FILE] [--stamps FILE] [--wait-exit] MARKER COMMAND...
The command runs in its own session with stdout and stderr merged (saved to --log; to --stamps, each line prefixed with
the seconds since the start when it arrived, ANSI escapes removed, so a report can place a boot's phases). At the marker it is stopped
(SIGTERM to its process group, SIGKILL 10 s later) unless --wait-exit, which lets it finish. Prints "nan" and exits
1 if the marker never comes (the command exits or --timeout passes first).
"""
import argparse, os, re, signal, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--timeout", type=float, default=900)
ap.add_argument("--log")
ap.add_argument("--stamps")
ap.add_argument("--wait-exit", action="store_true")
ap.add_argument("marker")
ap.add_argument("command", nargs=argparse.REMAINDER)
a = ap.parse_args()

start = time.monotonic()
p = subprocess.Popen(a.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                     start_new_session=True)


def stop():
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass


timer = threading.Timer(a.timeout, stop)
timer.daemon = True
timer.start()
log = open(a.log, "wb") if a.log else None
stamps = open(a.stamps, "w") if a.stamps else None
ansi = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]")
marker = a.marker.encode()
ready = None
for line in p.stdout:
    if log:
        log.write(line)
    if stamps:
        stamps.write(f"{time.monotonic() - start:8.2f} {ansi.sub(b'', line).decode(errors='replace').rstrip()}\n")
        stamps.flush()
    if ready is None and marker in line:
        ready = time.monotonic() - start
        if log:
            log.write(f"[until-marker: {ready:.2f} s]\n".encode())
        if not a.wait_exit:
            break
if ready is not None and not a.wait_exit:
    stop()
else:
    p.wait()
    # Children that kept the group alive (an nbdkit, a QEMU) go too.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
timer.cancel()
if log:
    log.close()
if stamps:
    stamps.close()
print(f"{ready:.2f}" if ready is not None else "nan")
sys.exit(0 if ready is not None else 1)
