#!/usr/bin/env bash
# Builds and runs the `consilium` command-line client (the desktop app comes next), with a local
# relay on 127.0.0.1:8443 started in the background if none is running there (its data in the
# user data directory), so circles work out of the box.
# Usage: bash scripts/run.sh [consilium arguments]   e.g. bash scripts/run.sh init --name "Dr Ada Lovelace"
set -euo pipefail
# Build from the clone, but run in the caller's directory (relative paths stay the user's).
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh" >&2
source "$root/scripts/env.sh"
(cd "$root" && cargo build --release --locked -q -p consilium-cli -p consilium-relay >&2)
bin="$CARGO_TARGET_DIR/release"
if ! (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null; then
    data="${XDG_DATA_HOME:-$HOME/.local/share}/consilium/relay"
    mkdir -p "$data"
    nohup "$bin/consilium-relay" --listen 127.0.0.1:8443 --data "$data" >"$data/relay.log" 2>&1 &
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null && break
        sleep 0.1
    done
    echo "started a local relay on http://127.0.0.1:8443 (log: $data/relay.log)" >&2
fi
exec "$bin/consilium" "$@"
