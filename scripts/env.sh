# Sourced by the scripts: one build folder outside the clone, reused by every clone on this
# machine, and the sample corpus location.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/consilium/target}"
export CONSILIUM_SAMPLES="${CONSILIUM_SAMPLES:-$HOME/.cache/consilium-samples}"
mkdir -p "$CARGO_TARGET_DIR"
