#!/bin/sh
# Installs what mpmd's build and test suite need on a Debian machine (idempotent, quick when
# everything is there). Run as root (CI is root); uses sudo otherwise.
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Debian packages the tests use as oracle and real clients:
#   apache2 apache2-utils (ab, htpasswd) – the differential oracle and its MPM modules
#   curl nghttp2-client (h2load, nghttp) openssl – real clients
#   nginx wrk                    – the shared benchmark
#   systemd (systemd-analyze)    – unit verification
#   debhelper devscripts lintian fakeroot – the package build test
#   logrotate php-fpm prometheus-apache-exporter goaccess – real peers of the ops, proxy and status tests
#   slowhttptest                 – the slowloris attacker of tests/reliability.rs
#   libcrypt-dev                 – links the system crypt(3) mod_authn_file checks hashes with
#   zlib1g-dev pkg-config        – mod_deflate links the system zlib, the one httpd uses
PKGS="apache2 apache2-utils curl nghttp2-client openssl nginx wrk systemd \
      debhelper devscripts lintian fakeroot build-essential libcrypt-dev zlib1g-dev pkg-config \
      python3 logrotate \
      php-fpm prometheus-apache-exporter goaccess slowhttptest"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# Debian's apache2 starts itself on install; the tests want port 80 and the oracle idle.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl stop apache2 nginx >/dev/null 2>&1 || true
fi
getent passwd www-data >/dev/null || $SUDO useradd --system --no-create-home --user-group www-data
command -v cargo >/dev/null || { echo "setup: cargo is required (rustup)" >&2; exit 1; }
rustup component add rustfmt clippy >/dev/null 2>&1 || true
echo "setup: ok"
