#!/usr/bin/env python3
"""Idle connections held by an event server: memory and how the load spreads.

Starts BIN with CONF (pinned to CPU 1, as ../shared/bench/run.py does), warms up with wrk,
opens N idle keep-alive connections (each sends one request and reads the answer), then runs
`wrk -c50` for DURATION seconds on CPU 0. Prints the Pss of the tree (from
/proc/PID/smaps_rollup) before and after, KiB per idle connection, and per child the CPU ticks
and the voluntary/involuntary context switches taken during the wrk run: how many children
the load spread over. Loopback only; stops the server it started, by pid.

    python3 bench/idle_probe.py --bin target/release/mpmd --conf /tmp/idle/conf/httpd.conf \
        --port 18300 --idle 8000

CONF is a config like the one ../shared/bench/run.py writes for a cmd target (event MPM,
AsyncRequestWorkerFactor 8 for 8000 connections), serving /1k.html on 127.0.0.1:PORT.
"""
import argparse
import os
import re
import resource
import socket
import subprocess
import time


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def pss_kib(pid):
    try:
        for line in open("/proc/%d/smaps_rollup" % pid):
            m = re.match(r"Pss:\s+(\d+) kB", line)
            if m:
                return int(m.group(1))
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def switches(pid):
    vol = invol = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            for line in open("/proc/%d/task/%s/status" % (pid, t)):
                if line.startswith("voluntary_ctxt_switches"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    invol += int(line.split()[1])
        except OSError:
            pass
    return vol, invol


def total_pss(pid):
    return pss_kib(pid) + sum(pss_kib(k) for k in children(pid))


def wrk(port, seconds, cpu):
    argv = ["taskset", "-c", cpu, "wrk", "-t1", "-c50", "-d%ds" % seconds,
            "http://127.0.0.1:%d/1k.html" % port]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--idle", type=int, default=8000)
    ap.add_argument("--duration", type=int, default=5)
    a = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    server = subprocess.Popen(["taskset", "-c", "1", a.bin, "-f", a.conf, "-DFOREGROUND"])
    try:
        time.sleep(1.5)
        wrk(a.port, 2, "0")
        time.sleep(1)
        base = total_pss(server.pid)
        socks = []
        req = b"GET /1k.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for i in range(a.idle):
            s = socket.create_connection(("127.0.0.1", a.port))
            s.sendall(req)
            socks.append(s)
            if i % 64 == 63 or i == a.idle - 1:
                for t in socks[-64:]:
                    t.settimeout(10)
                    t.recv(65536)
        time.sleep(1)
        held = total_pss(server.pid)
        kids = children(server.pid)
        before = {k: (cpu_ticks(k), switches(k)) for k in kids}
        rps = wrk(a.port, a.duration, "0")
        after = total_pss(server.pid)
        print("Pss: %d KiB after warm-up, %d KiB with %d idle held, %d KiB after wrk"
              % (base, held, a.idle, after))
        if a.idle:
            print("KiB per idle connection: %.2f (held), %.2f (after wrk)"
                  % ((held - base) / a.idle, (after - base) / a.idle))
        print("wrk -c50 with them held: %.0f req/s" % rps)
        busy = 0
        vol_total = 0
        for k in kids:
            c = cpu_ticks(k) - before[k][0]
            v, n = switches(k)
            v -= before[k][1][0]
            n -= before[k][1][1]
            if c > 0:
                busy += 1
                vol_total += v
                print("  child %d: %d ticks, %d voluntary, %d involuntary switches" % (k, c, v, n))
        if rps:
            print("%d of %d children served; %.2f voluntary switches per request"
                  % (busy, len(kids), vol_total / (rps * a.duration)))
        for s in socks:
            s.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
