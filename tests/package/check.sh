#!/usr/bin/env bash
# The packages as a physician and a relay operator meet them: built by scripts/package.sh from
# this tree, checked by Debian's own tools (lintian: no errors; desktop-file-validate;
# appstreamcli; systemd-analyze verify of the relay's unit), installed with apt on this machine,
# run (the installed `consilium --version`, the installed window under Xvfb, screenshot in
# docs/screenshots/installed-app.png), and removed again: the programs go, a profile stays.
# Needs root (apt); CI runs as root.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
fail() { echo "package check failed: $*" >&2; exit 1; }

bash scripts/package.sh
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
desktop_deb="$(ls dist/packages/consilium_"$version"_*.deb)"
relay_deb="$(ls dist/packages/consilium-relay_"$version"*_*.deb)"
rpm_file="$(ls dist/packages/consilium-"$version"-*.rpm)"

need=()
command -v lintian >/dev/null || need+=(lintian)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v rpm >/dev/null || need+=(rpm)
command -v appstreamcli >/dev/null || need+=(appstream)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== lintian (no errors)"
for deb in "$desktop_deb" "$relay_deb"; do
    lintian --fail-on error --tag-display-limit 0 "$deb" || fail "lintian found errors in $deb"
done

echo "== the rpm's contents"
rpm -qpl "$rpm_file" >"$root/dist/packages/rpm-files.txt"
for f in /usr/bin/consilium /usr/bin/consilium-decoder /usr/bin/consilium-desktop /usr/share/applications/Consilium.desktop \
         /usr/share/metainfo/org.consilium.desktop.metainfo.xml; do
    grep -qx "$f" "$root/dist/packages/rpm-files.txt" || fail "the rpm lacks $f"
done
# Without them an RPM system installs an app whose image reader cannot start.
requires="$(rpm -qpR "$rpm_file")"
for soname in 'libheif.so.1()(64bit)' 'libwebkit2gtk-4.1.so.0()(64bit)' 'libc.so.6()(64bit)'; do
    grep -qxF "$soname" <<<"$requires" || fail "the rpm does not require $soname"
done

echo "== install"
# A copy left by an earlier run (the same version) would not be replaced.
if dpkg-query -W consilium consilium-relay >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq consilium consilium-relay >/dev/null || true
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$desktop_deb" "./$relay_deb" >/dev/null
[ "$(consilium --version)" = "consilium $version" ] || fail "consilium --version: $(consilium --version)"
[ "$(consilium-relay --version)" = "consilium-relay $version" ] || fail "consilium-relay --version"
desktop-file-validate /usr/share/applications/Consilium.desktop
appstreamcli validate --no-net /usr/share/metainfo/org.consilium.desktop.metainfo.xml >/dev/null
systemd-analyze verify /lib/systemd/system/consilium-relay.service
for size in 16x16 32x32 48x48 64x64 128x128 256x256 512x512; do
    [ -f "/usr/share/icons/hicolor/$size/apps/consilium-desktop.png" ] || fail "no $size icon"
done
getent passwd consilium-relay >/dev/null || fail "the relay's user was not made"

echo "== the installed relay, as its own user with its packaged settings"
# (No systemd runs in this container: the service's own user and environment file, by hand.)
relay_data="$(mktemp -d)"
chown consilium-relay:consilium-relay "$relay_data"
(
    set -a
    . /etc/consilium-relay/relay.env
    set +a
    CONSILIUM_RELAY_DATA="$relay_data" CONSILIUM_RELAY_LISTEN=127.0.0.1:18443 \
        exec runuser -u consilium-relay -- /usr/bin/consilium-relay
) >"$relay_data.log" 2>&1 &
relay=$!
for _ in $(seq 1 50); do
    if [ "$(curl -fsS http://127.0.0.1:18443/v1/health 2>/dev/null)" = "ok" ]; then break; fi
    sleep 0.2
done
[ "$(curl -fsS http://127.0.0.1:18443/v1/health)" = "ok" ] || fail "the installed relay does not answer: $(cat "$relay_data.log")"
[ "$(stat -c %U "$relay_data/relay.db")" = "consilium-relay" ] || fail "the relay's database is not its user's"
kill "$relay"; wait "$relay" 2>/dev/null || true
rm -rf "$relay_data" "$relay_data.log"

echo "== the installed window, under Xvfb"
home="$(mktemp -d)"
profile="$home/profile"
shot="$root/docs/screenshots/installed-app.png"
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    HOME="$1" CONSILIUM_PROFILE="$2" /usr/bin/consilium-desktop >"$1/app.log" 2>&1 &
    app=$!
    for _ in $(seq 1 60); do
        sleep 1
        if xwininfo -root -tree 2>/dev/null | grep -q "\"Consilium\""; then break; fi
    done
    sleep 3
    import -window root "$3"
    kill "$app"; wait "$app" 2>/dev/null || true
' _ "$home" "$profile" "$shot"
[ -s "$shot" ] || fail "no screenshot"

echo "== remove: the programs go, a profile stays"
CONSILIUM_PASSPHRASE="package check passphrase 42" \
    consilium --profile "$profile" init --name "Dr Package Check" --specialty Dermatology >/dev/null
[ -n "$(ls -A "$profile")" ] || fail "the installed consilium made no profile"
# A DICOM image goes through the packaged decoder process (a program of its own beside
# consilium): an installed app without it could not import one.
ct="${CONSILIUM_SAMPLES:-$HOME/.cache/consilium-samples}/pydicom/test_files/CT_small.dcm"
[ -f "$ct" ] || fail "$ct is missing: run tests/samples/fetch.sh"
case_id="$(CONSILIUM_PASSPHRASE="package check passphrase 42" \
    consilium --profile "$profile" --json case new --title "Package check" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')"
CONSILIUM_PASSPHRASE="package check passphrase 42" \
    consilium --profile "$profile" --json case attach "$case_id" "$ct" >"$home/attached.json" \
    || fail "the installed consilium could not import a DICOM image: $(cat "$home/attached.json")"
grep -q '"modality": *"CT"' "$home/attached.json" || fail "no CT in $(cat "$home/attached.json")"
# And an iPhone photo through libheif, which the package's dependencies must bring.
heic="${CONSILIUM_SAMPLES:-$HOME/.cache/consilium-samples}/pillow_heif/tests/images/heif_other/pug.heic"
[ -f "$heic" ] || fail "$heic is missing: run tests/samples/fetch.sh"
CONSILIUM_PASSPHRASE="package check passphrase 42" \
    consilium --profile "$profile" --json case attach "$case_id" "$heic" >"$home/attached.json" \
    || fail "the installed consilium could not import a HEIC photo: $(cat "$home/attached.json")"
grep -q '"source_format": *"HEIC"' "$home/attached.json" || fail "no HEIC in $(cat "$home/attached.json")"
dpkg-deb -f "$root/dist/packages/consilium_${version}_amd64.deb" Depends | grep -q libheif1 \
    || fail "the desktop package does not depend on libheif1"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq consilium consilium-relay >/dev/null
for program in /usr/bin/consilium /usr/bin/consilium-decoder /usr/bin/consilium-desktop /usr/bin/consilium-relay; do
    [ ! -e "$program" ] || fail "$program is still installed"
done
[ -n "$(ls -A "$profile")" ] || fail "removing the package removed the profile"
rm -rf "$home"
echo "== packages checked"
