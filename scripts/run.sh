#!/usr/bin/env bash
# Opens Consilium. Installs what is missing, builds, makes sure your local relay runs on
# 127.0.0.1, on a port of your own (20000 + your user id, modulo 40000: another user of this
# computer has another; its data in ~/.local/share/consilium-relay, beside your profile, never in
# it), and opens the desktop window on your profile.
#
#   bash scripts/run.sh                      the desktop app, on your profile
#   bash scripts/run.sh --profile DIR        the desktop app on another profile (a second window,
#                                            to try sharing with yourself)
#   bash scripts/run.sh cli [ARGS...]        the command-line client, e.g. `cli case list`
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh" >&2
source "$root/scripts/env.sh"
bin="$CARGO_TARGET_DIR/release"

mode=desktop
if [ "${1:-}" = cli ]; then mode=cli; shift; fi
if [ "$mode" = desktop ]; then
    (cd "$root/ui" && npm run -s build >&2)
    (cd "$root" && cargo build --release --locked -q -p consilium-desktop -p consilium-deid -p consilium-relay >&2)
else
    (cd "$root" && cargo build --release --locked -q -p consilium-cli -p consilium-deid -p consilium-relay >&2)
fi

port=$((20000 + $(id -u) % 40000))
if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    share="${XDG_DATA_HOME:-$HOME/.local/share}"
    data="$share/consilium-relay"
    # Earlier versions kept the relay's data inside the profile folder: move it out, once.
    if [ -f "$share/consilium/relay/relay.db" ] && [ ! -f "$data/relay.db" ]; then
        rmdir "$data" 2>/dev/null || true
        mv "$share/consilium/relay" "$data"
    fi
    mkdir -p "$data"
    nohup "$bin/consilium-relay" --listen "127.0.0.1:$port" --admission open --data "$data" >"$data/relay.log" 2>&1 &
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
        sleep 0.1
    done
    echo "started your local relay on http://127.0.0.1:$port (log: $data/relay.log)" >&2
fi

if [ "$mode" = cli ]; then
    exec "$bin/consilium" "$@"
fi
if [ "${1:-}" = --profile ]; then
    [ -n "${2:-}" ] || { echo "usage: bash scripts/run.sh --profile DIR" >&2; exit 2; }
    mkdir -p "$2"
    export CONSILIUM_PROFILE="$(cd "$2" && pwd)"
fi
exec "$bin/consilium-desktop"
