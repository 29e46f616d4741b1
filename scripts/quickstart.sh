#!/bin/sh
# Installs what is needed, builds mpmd and runs it in the foreground on the bundled default
# config (conf/), serving the welcome page on http://127.0.0.1:8080/. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cargo build --release --bins
exec target/release/mpmd -d "$PWD/conf" -f mpmd.conf -DFOREGROUND -DLOCAL "$@"
