#!/usr/bin/env python3
"""Memory soak: mpmd under moderate keep-alive load, RSS and Pss of every process sampled.

Python 3 standard library only. Starts the release mpmd (one MPM) with bench/run.py's config,
drives it with `h2load --h1 -c C --rps R` (keep-alive HTTP/1.1, C connections × R requests
per second each) for --duration seconds, and every --every seconds prints each process's RSS
and Pss (from /proc/PID/smaps_rollup) and the tree's total. At the end: growth of the total
Pss and of every child that lived through the whole run, first sample (after --warmup) to
last. Server pinned to CPU 1, h2load to CPU 0, as bench/run.py does.

    python3 bench/soak.py --mpm event --duration 600
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: config, Server, tree)


def proc_mem(pid):
    """(rss_kib, pss_kib) of one process."""
    s = bench.read("/proc/%d/smaps_rollup" % pid)
    rss = re.search(r"^Rss:\s+(\d+) kB", s, re.M)
    pss = re.search(r"^Pss:\s+(\d+) kB", s, re.M)
    return (int(rss.group(1)) if rss else 0, int(pss.group(1)) if pss else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mpm", default="event", choices=["event", "worker", "prefork"])
    ap.add_argument("--duration", type=int, default=600, help="seconds of load (default 600)")
    ap.add_argument("--every", type=int, default=30, help="seconds between samples (default 30)")
    ap.add_argument("--warmup", type=int, default=30, help="seconds before the first sample (default 30)")
    ap.add_argument("--connections", type=int, default=20, help="keep-alive connections (default 20)")
    ap.add_argument("--rps", type=int, default=100, help="requests per second per connection (default 100)")
    ap.add_argument("--bin", help="mpmd binary (default: cargo build --release)")
    ap.add_argument("--no-pin", action="store_true")
    args = ap.parse_args()
    args.factor = "8"
    binary = os.path.abspath(args.bin) if args.bin else None
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=bench.REPO, check=True)
        binary = os.path.join(bench.REPO, "target", "release", "mpmd")
    bench.limit_nofile()
    if not args.no_pin:
        os.sched_setaffinity(0, {bench.CLIENT_CPU})
    work = tempfile.mkdtemp(prefix="mpmd-soak-")
    os.chmod(work, 0o755)
    docroot = os.path.join(work, "htdocs")
    os.makedirs(docroot)
    with open(os.path.join(docroot, "1k.html"), "wb") as f:
        f.write(b"x" * 1023 + b"\n")
    with open(os.path.join(docroot, "256k.bin"), "wb") as f:
        f.write(os.urandom(bench.BIG_SIZE))
    for fn in os.listdir(docroot):
        os.chmod(os.path.join(docroot, fn), 0o644)
    os.chmod(docroot, 0o755)
    srv = bench.Server("mpmd-" + args.mpm, "apache", args.mpm,
                       lambda c, r: [binary, "-f", c, "-DFOREGROUND"], work, docroot, args)
    srv.start()
    pin = [] if args.no_pin else ["taskset", "-c", str(bench.CLIENT_CPU)]
    total = args.duration + args.warmup
    load = subprocess.Popen(pin + ["h2load", "--h1", "-t1", "-c%d" % args.connections, "--rps=%d" % args.rps,
                                   "-D", str(total), "http://127.0.0.1:%d/1k.html" % srv.port],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("Command: %s" % " ".join(sys.argv))
    print("mpmd %s, h2load --h1 -c%d --rps=%d (%d req/s offered), %d s, sample every %d s after %d s warm-up\n" % (
        args.mpm, args.connections, args.rps, args.connections * args.rps, args.duration, args.every, args.warmup))
    print("| t (s) | processes | total Pss (KiB) | per process RSS/Pss (KiB) |")
    print("|---:|---:|---:|---|")
    samples = []
    t0 = time.monotonic()
    next_at = args.warmup
    try:
        while True:
            now = time.monotonic() - t0
            if now >= next_at:
                pids = bench.tree(srv.proc.pid)
                mem = {p: proc_mem(p) for p in pids}
                tot = sum(v[1] for v in mem.values())
                samples.append((round(now), mem, tot))
                per = " ".join("%d:%d/%d" % (p, r, s) for p, (r, s) in sorted(mem.items()))
                print("| %d | %d | %d | %s |" % (now, len(pids), tot, per), flush=True)
                next_at += args.every
                if next_at > total:
                    break
            if load.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        if load.poll() is None:
            load.send_signal(signal.SIGINT)
        out, _ = load.communicate(timeout=30)
        srv.stop()
    m = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    print("\nh2load: %s" % (m.group(0) if m else out[-300:]))
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        print("total Pss: %d → %d KiB (%+d KiB over %d s)" % (first[2], last[2], last[2] - first[2],
                                                               last[0] - first[0]))
        for p in sorted(set(first[1]) & set(last[1])):
            print("  pid %d: RSS %d → %d KiB (%+d), Pss %d → %d KiB (%+d)" % (
                p, first[1][p][0], last[1][p][0], last[1][p][0] - first[1][p][0],
                first[1][p][1], last[1][p][1], last[1][p][1] - first[1][p][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
