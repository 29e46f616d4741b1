#!/usr/bin/env python3
"""Instructions per keep-alive request, user space, with callgrind: repeatable whatever else
the machine does, so two builds can be compared on a noisy host.

    python3 bench/callgrind.py --bin target/release/mpmd [--bin OTHER ...] [--mpm event]

The server runs `-X` (one process) under `valgrind --tool=callgrind` on bench/run.py's
`small` config; one keep-alive connection makes WARM requests for `/1k.html`, the counters
are dumped, then N more, dumped again: the second dump over N is the figure. Only the
processes this script started are signalled. Needs valgrind (callgrind_control).
"""
import argparse, glob, os, re, shutil, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402


# What a browser sends with a page request (`--browser`): the fields most servers look up
# are absent (Range, If-*), as on a first visit.
BROWSER = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Connection: keep-alive\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Priority: u=0, i\r\n"
)


def keep_alive(port, n, path, browser=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    fields = BROWSER if browser else "User-Agent: callgrind\r\n"
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (path, fields)).encode()
    buf = b""
    for i in range(n):
        s.sendall(req)
        while True:
            h = buf.find(b"\r\n\r\n")
            if h >= 0:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", buf[:h])
                end = h + 4 + (int(m.group(1)) if m else 0)
                if len(buf) >= end:
                    if not buf.startswith(b"HTTP/1.1 200"):
                        raise SystemExit("request %d: %r" % (i, buf[:40]))
                    buf = buf[end:]
                    break
            d = s.recv(65536)
            if not d:
                raise SystemExit("closed after %d requests" % i)
            buf += d
    s.close()


def total_ir(path):
    for line in open(path, errors="replace"):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit("no totals in %s" % path)


def measure(binary, mpm, warm, n, work, browser=False, include=None):
    port = bench.free_port()
    docroot = os.path.join(work, "htdocs")
    root = os.path.join(work, mpm)
    os.makedirs(root, exist_ok=True)
    conf = os.path.join(root, "httpd.conf")
    with open(conf, "w") as f:
        f.write(bench.apache_conf(mpm, port, root, docroot, 8))
        if include:
            f.write("\nInclude %s\n" % os.path.abspath(include))
    out = os.path.join(root, "cg.%p")
    vg = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                           # every dump self-contained, so callgrind_annotate reads part 2
                           "--compress-strings=no",
                           binary, "-f", conf, "-X"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or vg.poll() is not None:
                    raise SystemExit("server did not come up")
                time.sleep(0.3)
        keep_alive(port, warm, bench.SMALL, browser)
        subprocess.run(["callgrind_control", "-d", str(vg.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        keep_alive(port, n, bench.SMALL, browser)
        subprocess.run(["callgrind_control", "-d", str(vg.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        vg.terminate()
        try:
            vg.wait(30)
        except subprocess.TimeoutExpired:
            vg.kill()
            vg.wait()
    dumps = sorted(glob.glob(os.path.join(root, "cg.*.2")))
    if not dumps:
        raise SystemExit("no second dump")
    return total_ir(dumps[-1]) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", action="append", required=True)
    ap.add_argument("--mpm", default="event", choices=["event", "worker", "prefork"])
    ap.add_argument("--warm", type=int, default=500)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--include", metavar="FILE",
                    help="append `Include FILE` to the config (e.g. Debian's mods-available/mime.conf)")
    ap.add_argument("--browser", action="store_true",
                    help="send a browser's request fields (11) instead of a User-Agent alone")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed")
    work = tempfile.mkdtemp(prefix="mpmd-callgrind-")
    os.chmod(work, 0o755)
    docroot = os.path.join(work, "htdocs")
    os.makedirs(docroot)
    with open(os.path.join(docroot, bench.SMALL.lstrip("/")), "wb") as f:
        f.write(b"x" * (bench.SMALL_SIZE - 1) + b"\n")
    os.chmod(docroot, 0o755)
    # The file cache keeps only files that have not changed for two seconds.
    time.sleep(2.5)
    for b in args.bin:
        ir = measure(os.path.abspath(b), args.mpm, args.warm, args.n, work, args.browser,
                     args.include)
        print("%-40s %8.0f instructions per request (%s%s%s, user space)"
              % (b, ir, args.mpm, ", browser fields" if args.browser else "",
                 ", + " + args.include if args.include else ""))
    print("work dir:", work)


if __name__ == "__main__":
    main()
