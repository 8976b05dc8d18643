#!/usr/bin/env bash
# Builds and runs the `consilium` command-line client (the desktop app comes later).
# Usage: bash scripts/run.sh [consilium arguments]   e.g. bash scripts/run.sh init --name "Dr Ada Lovelace"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
source scripts/env.sh
cargo build --release --locked -q -p consilium-cli >&2
exec "$CARGO_TARGET_DIR/release/consilium" "$@"
