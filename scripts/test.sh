#!/usr/bin/env bash
# Runs every check and test of Consilium: formatting, clippy, unit, integration and property
# tests of every crate, the CLI end-to-end tests against real files, and the desktop window's
# end-to-end test over WebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/env.sh
bash tests/samples/fetch.sh

start=$(date +%s)
echo "== front end: types, unit tests, build (the window embeds ui/dist)"
(cd ui && npm run -s check && npm test --silent && npm run -s build)
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (the binaries the end-to-end tests run)"
cargo build --workspace --bins --locked
echo "== cargo test (under a virtual display: the desktop window's WebDriver test opens it)"
CONSILIUM_REQUIRE_SAMPLES=1 xvfb-run -a -s "-screen 0 1400x900x24 -s 0 -dpms" \
    cargo test --workspace --all-targets --locked
echo "== all checks passed in $(( $(date +%s) - start )) s"
