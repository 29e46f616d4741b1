#!/bin/sh
# The whole test suite: lints, unit and integration tests (every integration case runs under
# prefork, worker and event). `.ci/run` calls exactly this.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets -- --test-threads="${MPMD_TEST_THREADS:-2}"
