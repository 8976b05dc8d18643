#!/usr/bin/env bash
# The fast lane, for a developer's loop: formatting, clippy, the tidy checks (import cycles,
# long files, generated bindings), every crate's unit tests, the front end's type check and
# tests, and the fuzz targets compiled on the stable toolchain. Minutes; nothing end to end
# (scripts/test.sh runs this and then everything else).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/env.sh
bash tests/samples/fetch.sh

start=$(date +%s)
echo "== front end: types, unit tests, build (the window's crate embeds ui/dist)"
(cd ui && npm run -s check && npm test --silent && npm run -s build)
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== fuzz targets compile (stable toolchain; running them takes nightly)"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked
echo "== unit tests and tidy checks"
cargo test --workspace --lib --bins --locked
cargo test -p consilium-tidy --tests --locked
echo "== fast checks passed in $(( $(date +%s) - start )) s"
