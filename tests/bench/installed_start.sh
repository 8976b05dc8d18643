#!/usr/bin/env bash
# The installed app's cold start against the development build's (docs/BENCHMARKS.md): builds
# and installs the desktop package, builds the development binary, runs the bench under Xvfb,
# and removes the package again. Needs root (apt).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/package.sh
source scripts/env.sh
export PATH="$HOME/.cache/consilium/tools/bin:$PATH"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./dist/packages/consilium_*_amd64.deb >/dev/null
trap 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq consilium >/dev/null' EXIT
cargo build --locked -q -p consilium-desktop
cargo bench --locked -p consilium-e2e --bench installed_start --no-run
xvfb-run -a -s "-screen 0 1400x900x24 -s 0 -dpms" \
    cargo bench --locked -p consilium-e2e --bench installed_start
