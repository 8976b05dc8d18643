#!/usr/bin/env bash
# Installs what building and testing Consilium needs on Debian 12, and nothing when it is
# already there. Rust itself (1.89 or newer, with rustfmt and clippy) must be installed first.
set -euo pipefail

source "$(dirname "$0")/quietly.sh"

need_apt=()
command -v exiftool >/dev/null || need_apt+=(libimage-exiftool-perl)
command -v vipsthumbnail >/dev/null || need_apt+=(libvips-tools)
command -v cc >/dev/null || need_apt+=(build-essential)
command -v perl >/dev/null || need_apt+=(perl)        # builds the vendored OpenSSL of SQLCipher
command -v make >/dev/null || need_apt+=(make)
command -v python3 >/dev/null || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
[ -x /usr/bin/time ] || need_apt+=(time)
# The desktop window (Tauri 2 on WebKitGTK), its WebDriver, and a display for tests.
pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# libheif: the decoder process reads HEIC photos with it (the binding links the system's).
for p in libheif-dev libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev \
         webkit2gtk-driver xvfb xauth imagemagick; do
    pkg "$p" || need_apt+=("$p")
done
command -v npm >/dev/null || need_apt+=(nodejs npm)
# The relay's second backend and its several instances: PostgreSQL and a load balancer, the
# real programs, which the relay's tests start in temporary folders (an S3 server comes below).
for p in postgresql-15 haproxy; do
    pkg "$p" || need_apt+=("$p")
done
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
# The window's French journey runs the app in the fr_FR.UTF-8 locale, generated below.
command -v localedef >/dev/null || need_apt+=(locales)

if [ ${#need_apt[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: ${need_apt[*]}"
    quietly $sudo apt-get update -qq
    quietly $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if ! locale -a 2>/dev/null | grep -qi '^fr_FR\.utf-\?8$'; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "generating the fr_FR.UTF-8 locale"
    quietly $sudo localedef -i fr_FR -c -f UTF-8 fr_FR.UTF-8
fi

if ! command -v cargo >/dev/null; then
    echo "error: Rust is not installed; install it with rustup (https://rustup.rs), then run this again" >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# The front end's packages, at the versions package.json pins and package-lock.json records
# (`npm install`, not `npm ci`: with this machine's `omit-lockfile-registry-resolved` setting,
# `npm ci` misreads the lock's optional platform packages).
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -d "$root/ui/node_modules" ] || [ "$root/ui/package-lock.json" -nt "$root/ui/node_modules/.package-lock.json" ]; then
    quietly npm --prefix "$root/ui" install --no-audit --no-fund
fi

# tauri-driver: the WebDriver front for the desktop window's end-to-end tests, kept beside the
# build cache so a fresh clone reuses it.
tools="${HOME}/.cache/consilium/tools"
if [ ! -x "$tools/bin/tauri-driver" ]; then
    echo "installing tauri-driver"
    quietly cargo install tauri-driver --version 2.1.0 --locked --root "$tools"
fi

# An S3-protocol server for the relay's bucket backend: moto's, from PyPI, in its own
# environment beside the build cache.
if [ ! -x "$tools/s3/bin/moto_server" ]; then
    echo "installing moto's S3 server"
    python3 -m venv "$tools/s3"
    quietly "$tools/s3/bin/pip" install --quiet 'moto[server]==5.1.0'
fi
