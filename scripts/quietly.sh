# Sourced by the scripts. `quietly CMD…` runs a step quietly; if it fails, says which and shows
# the end of what it printed.
quietly() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        echo "error: this step failed: $*" >&2
        tail -n 60 "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
}
