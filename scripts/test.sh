#!/usr/bin/env bash
# Runs every check and test of Consilium: the fast lane (scripts/check.sh: formatting, clippy,
# tidy checks, unit tests, front-end tests, fuzz targets compiled), then the integration and
# property tests of every crate, the CLI end-to-end tests against real files and a real relay
# process, the relay's suite a second time against PostgreSQL, the desktop window's
# end-to-end tests over WebDriver, and the packages
# (tests/package/check.sh: built, linted, installed, run, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/check.sh
source scripts/env.sh
echo "== cargo build (the binaries the end-to-end tests run)"
cargo build --workspace --bins --locked
echo "== cargo test (under a virtual display: the desktop window's WebDriver test opens it)"
CONSILIUM_REQUIRE_SAMPLES=1 xvfb-run -a -s "-screen 0 1400x900x24 -s 0 -dpms" \
    cargo test --workspace --all-targets --locked
echo "== the relay's suite again, its records in a real PostgreSQL (started in a temporary folder)"
"$CARGO_TARGET_DIR/debug/with-postgres" cargo test -p consilium-relay --test relay --locked
echo "== the packages (built, checked by Debian's tools, installed, run and removed)"
bash tests/package/check.sh
echo "== all checks passed in $(( $(date +%s) - start )) s"
