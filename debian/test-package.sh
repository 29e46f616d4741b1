#!/bin/sh
# Builds the mpmd .deb, checks it with lintian, installs it, checks the installed tree
# (mpmctl configtest -> "Syntax OK", the default modules enabled, an MPM switch), then removes
# and purges it and checks that nothing is left. Exits non-zero at the first failure.
#
# It really installs the package: run it as root on a scratch machine or container. Needs
# dpkg-dev, debhelper, lintian, fakeroot (and cargo). The build happens in a temporary copy
# of the tree, so dpkg-buildpackage's output does not land next to the source; the cargo
# target dir is target/deb in the source tree, kept between runs.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n=== %s\n' "$*"; }
fail() { echo "test-package: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (it installs the package)"
for tool in dpkg-buildpackage dh lintian cargo; do
	command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install dpkg-dev debhelper lintian fakeroot; cargo via rustup)"
done

work=$(mktemp -d /tmp/mpmd-deb.XXXXXX)
# On a failure after `dpkg -i`, purge what this run installed (not an install that was there
# before the run).
was_installed=no
dpkg -s mpmd >/dev/null 2>&1 && was_installed=yes
installed=no
cleanup() {
	if [ "$installed" = yes ] && [ "$was_installed" = no ]; then
		echo "test-package: purging the package this run installed" >&2
		dpkg -P mpmd >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step "copy the source tree"
mkdir -p "$work/mpmd"
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$src" && xargs -0 tar -cf - --no-recursion) | tar -C "$work/mpmd" -xf -

step "dpkg-buildpackage -b -us -uc"
(cd "$work/mpmd" && CARGO_TARGET_DIR="$src/target/deb" dpkg-buildpackage -b -us -uc) ||
	fail "dpkg-buildpackage"
deb=$(ls "$work"/mpmd_*.deb)
changes=$(ls "$work"/mpmd_*.changes)
dpkg-deb --info "$deb" >/dev/null || fail "dpkg-deb --info"
dpkg-deb --contents "$deb"

step "lintian (no errors allowed)"
lintian --fail-on error --info "$changes" || fail "lintian reported errors"

step "dpkg -i"
index_before=""
[ -e /var/www/html/index.html ] && index_before=$(md5sum </var/www/html/index.html)
installed=yes
dpkg -i "$deb" || fail "dpkg -i"
for f in /usr/sbin/mpmd /usr/sbin/mpmctl /usr/sbin/mpmd-enmod /usr/sbin/mpmd-query \
	/etc/mpmd/mpmd.conf /etc/mpmd/envvars /etc/logrotate.d/mpmd \
	/lib/systemd/system/mpmd.service /usr/share/man/man8/mpmctl.8.gz /var/www/html/index.html; do
	[ -e "$f" ] || fail "$f is not installed"
done
[ "$(stat -c %U:%G:%a /var/log/mpmd)" = "root:adm:750" ] || fail "/var/log/mpmd owner/mode: $(stat -c %U:%G:%a /var/log/mpmd)"
getent passwd www-data >/dev/null || fail "no www-data user"
[ -L /etc/mpmd/mods-enabled/mpm_event.load ] || fail "postinst did not enable mpm_event"
[ -L /etc/mpmd/sites-enabled/000-default.conf ] || fail "postinst did not enable 000-default"
out=$(mpmd-query -m status) || fail "mpmd-query -m status"
[ "$out" = "status (enabled by maintainer script)" ] || fail "mpmd-query -m status said: $out"
if systemd-analyze --version >/dev/null 2>&1; then
	systemd-analyze verify /lib/systemd/system/mpmd.service || fail "systemd-analyze verify"
fi

step "mpmctl configtest on the installed tree"
mpmctl configtest >"$work/configtest.out" 2>&1 || true
cat "$work/configtest.out"
grep -qx "Syntax OK" "$work/configtest.out" || fail "mpmctl configtest did not say Syntax OK"

step "switch MPM"
mpmd-enmod mpm_prefork || fail "mpmd-enmod mpm_prefork"
[ "$(mpmd-query -M)" = prefork ] || fail "mpmd-query -M is not prefork"
mpmd-enmod -q mpm_event >/dev/null || fail "mpmd-enmod mpm_event"
[ "$(mpmd-query -M)" = event ] || fail "mpmd-query -M is not event"

step "dpkg -r"
dpkg -r mpmd || fail "dpkg -r"
[ ! -e /usr/sbin/mpmd ] || fail "/usr/sbin/mpmd left after remove"
[ -e /etc/mpmd/mpmd.conf ] || fail "conffiles must stay after remove"

step "dpkg -P"
dpkg -P mpmd || fail "dpkg -P"
installed=no
for f in /etc/mpmd /var/log/mpmd /var/lib/mpmd /usr/share/mpmd; do
	[ ! -e "$f" ] || fail "$f left after purge"
done
if [ -n "$index_before" ]; then
	[ "$(md5sum </var/www/html/index.html)" = "$index_before" ] || fail "the existing index.html was touched"
else
	[ ! -e /var/www/html/index.html ] || fail "the welcome page was left after purge"
fi
dpkg -s mpmd >/dev/null 2>&1 && fail "mpmd still known to dpkg"

echo
echo "test-package: all steps passed"
