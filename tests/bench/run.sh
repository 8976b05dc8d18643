#!/usr/bin/env bash
# Runs every benchmark with its baseline in the same run, measures peak memory of a real import,
# and prints the figures for docs/BENCHMARKS.md (tests/bench/report.py computes the ratios).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-deps.sh
source scripts/env.sh
bash tests/samples/fetch.sh

cargo bench --locked -p consilium-store -p consilium-groups
cargo bench --locked -p consilium-client --bench import
mkdir -p "$CARGO_TARGET_DIR/criterion"
# A share with three 12 MP photos to a circle of ten, on loopback (prints RESULT lines).
cargo bench --locked -p consilium-client --bench circle_share | tee "$CARGO_TARGET_DIR/criterion/circle-share.txt"
# Backup and restore of a profile of 200 cases and 50 photos, beside tar (prints RESULT lines).
cargo bench --locked -p consilium-client --bench backup | tee "$CARGO_TARGET_DIR/criterion/backup.txt"
# The relay under load: the real binary as its own process, driven from the bench process.
mkdir -p "$CARGO_TARGET_DIR/criterion"
cargo bench --locked -p consilium-relay --bench relay_load | tee "$CARGO_TARGET_DIR/criterion/relay-load.txt"
# The relay past one machine: PostgreSQL and two instances against SQLite, a bucket against the
# disk (Debian's PostgreSQL and moto's S3 server, started by the harness).
cargo bench --locked -p consilium-relay --bench relay_scale | tee "$CARGO_TARGET_DIR/criterion/relay-scale.txt"
# The desktop window: cold start, case opening, scrolling and idle memory of the release app
# under Xvfb over WebDriver (it embeds the built front end).
(cd ui && npm run -s build)
cargo build --release --locked -q -p consilium-desktop
# Built before the virtual display starts: X's screen saver (which WebKit reads as a hidden page,
# pausing its frames) must not start during a long build; and switched off anyway.
cargo bench --locked -p consilium-e2e --bench desktop --no-run
xvfb-run -a -s "-screen 0 1400x900x24 -s 0 -dpms" \
    cargo bench --locked -p consilium-e2e --bench desktop | tee "$CARGO_TARGET_DIR/criterion/desktop.txt"
cargo build --release --locked -q -p consilium-cli -p consilium-testkit
cargo build --release --locked -q -p consilium-client --example import_once

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
photo="$("$CARGO_TARGET_DIR/release/make-bench-photo" "$work")"
export CONSILIUM_PASSPHRASE="bench passphrase"
cli="$CARGO_TARGET_DIR/release/consilium"
"$cli" --profile "$work/p" init --name "Dr Bench" >/dev/null
case_id="$("$cli" --profile "$work/p" case new --title bench)"
# Peak resident memory (KiB) of a whole CLI import: unlock, decode, clean, encode, encrypt, store.
/usr/bin/time -f "%M %e" -o "$work/cli.time" "$cli" --profile "$work/p" case attach "$case_id" "$photo" >/dev/null
# The same import alone (weak KDF, so Argon2id's 256 MiB does not mask it), and unlocking alone.
/usr/bin/time -f "%M %e" -o "$work/import.time" "$CARGO_TARGET_DIR/release/examples/import_once" "$work/q" "$photo" >/dev/null
/usr/bin/time -f "%M %e" -o "$work/unlock.time" "$cli" --profile "$work/p" case list >/dev/null
/usr/bin/time -f "%M %e" -o "$work/vips.time" vipsthumbnail "$photo" --size 320 -o "$work/vips.jpg"
read -r cli_kib cli_s < "$work/cli.time"
read -r import_kib import_s < "$work/import.time"
read -r unlock_kib unlock_s < "$work/unlock.time"
read -r vips_kib vips_s < "$work/vips.time"
{
    echo "peak RSS, whole CLI attach (unlock + import): $((cli_kib / 1024)) MiB, $cli_s s wall"
    echo "peak RSS, import alone (import_once example): $((import_kib / 1024)) MiB, $import_s s wall"
    echo "peak RSS, CLI unlock alone (case list): $((unlock_kib / 1024)) MiB, $unlock_s s wall"
    echo "peak RSS, vipsthumbnail: $((vips_kib / 1024)) MiB, $vips_s s wall"
} | tee "$CARGO_TARGET_DIR/criterion/peak-memory.txt"
python3 tests/bench/report.py "$CARGO_TARGET_DIR/criterion"
