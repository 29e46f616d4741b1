#!/bin/sh
# PHP-FPM benchmark: wrk against mpmd (event) and apache2 (event) in front of the SAME php-fpm
# pool (static, on a Unix socket), same config (`<FilesMatch \.php$> SetHandler
# "proxy:unix:…|fcgi://localhost"`). Servers and FPM are pinned to CPU 1, wrk to CPU 0.
# Run as root on a quiet machine (apache2 drops to www-data).
#
#   sh bench/php.sh [path/to/mpmd] [seconds] [connections]
#
# Prints one markdown row per server: req/s, p50/p99 latency, non-2xx/errors.
set -eu
MPMD=${1:-target/release/mpmd}
SECS=${2:-10}
CONNS=${3:-16}
FPM=$(ls /usr/sbin/php-fpm* 2>/dev/null | sort | tail -n 1)
[ -x "$FPM" ] || { echo "php-fpm not installed (scripts/setup.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }
[ -x "$MPMD" ] || { echo "no mpmd binary at $MPMD (cargo build --release)" >&2; exit 1; }
MPMD=$(readlink -f "$MPMD")

D=$(mktemp -d /tmp/mpmd-php-bench.XXXXXX)
chmod 755 "$D"
mkdir -p "$D/htdocs" "$D/mpmd/logs" "$D/apache"
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 1
    rm -rf "$D"
}
trap cleanup EXIT INT TERM

# A small dynamic page: some string work and a loop, about 2 KiB of HTML.
cat > "$D/htdocs/page.php" <<'EOF'
<?php
$items = [];
for ($i = 0; $i < 50; $i++) { $items[] = sprintf('<li>item %d: %s</li>', $i, md5((string)$i)); }
header('Cache-Control: no-store');
echo "<!DOCTYPE html><html><head><title>bench</title></head><body><ul>\n",
     implode("\n", $items), "\n</ul><p>", htmlspecialchars($_SERVER['REQUEST_URI']), "</p></body></html>\n";
EOF
echo ok > "$D/htdocs/index.html"

USERLINE=""
RFLAG=""
if [ "$(id -u)" = 0 ]; then USERLINE="user = root"; RFLAG="-R"; fi
cat > "$D/fpm.conf" <<EOF
[global]
error_log = $D/fpm.log
daemonize = no
[bench]
$USERLINE
listen = $D/fpm.sock
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = 8
EOF
taskset -c 1 "$FPM" $RFLAG --nodaemonize -y "$D/fpm.conf" -p "$D" >/dev/null 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -S "$D/fpm.sock" ] && break; sleep 0.1; done

SHARED="ServerName localhost
TypesConfig /etc/mime.types
DocumentRoot $D/htdocs
KeepAlive On
MaxKeepAliveRequests 0
ErrorLog logs/error_log
LogLevel warn
<Directory $D/htdocs>
 Require all granted
</Directory>
<FilesMatch \\.php\$>
 SetHandler \"proxy:unix:$D/fpm.sock|fcgi://localhost\"
</FilesMatch>"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # name port
    # warm up FPM and the server, then measure
    wrk -t1 -c4 -d2s "http://127.0.0.1:$2/page.php" >/dev/null 2>&1 || true
    out=$(taskset -c 0 wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$2/page.php")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' | tr '\n' ' ')
    echo "| $1 | $rps | $p50 | $p99 | ${bad:-0} |"
}

wait_port() { for _ in $(seq 150); do curl -sf "http://127.0.0.1:$1/index.html" >/dev/null && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

echo "| server | req/s | p50 | p99 | non-2xx/errors |"
echo "|---|---:|---:|---:|---|"

P=$(free_port)
cat > "$D/mpmd/httpd.conf" <<EOF
ServerRoot $D/mpmd
LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule mime_module modules/mod_mime.so
LoadModule dir_module modules/mod_dir.so
LoadModule proxy_module modules/mod_proxy.so
LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so
PidFile logs/pid
Listen 127.0.0.1:$P
$SHARED
EOF
taskset -c 1 "$MPMD" -f "$D/mpmd/httpd.conf" -DFOREGROUND >/dev/null 2>&1 &
MP=$!
PIDS="$PIDS $MP"
wait_port "$P"
run "mpmd event" "$P"
kill "$MP"; sleep 1

P=$(free_port)
M=/usr/lib/apache2/modules
cat > "$D/apache/httpd.conf" <<EOF
ServerRoot $D/apache
DefaultRuntimeDir $D/apache
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule mime_module $M/mod_mime.so
LoadModule dir_module $M/mod_dir.so
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_fcgi_module $M/mod_proxy_fcgi.so
PidFile $D/apache/pid
User www-data
Group www-data
Listen 127.0.0.1:$P
$SHARED
EOF
mkdir -p "$D/apache/logs"
taskset -c 1 /usr/sbin/apache2 -f "$D/apache/httpd.conf" -DFOREGROUND >/dev/null 2>&1 &
AP=$!
PIDS="$PIDS $AP"
wait_port "$P"
run "apache2 event" "$P"
kill "$AP"
