#!/usr/bin/env bash
# Builds Consilium's installable packages, offline, into dist/packages/:
#   consilium_VERSION_amd64.deb and consilium-VERSION-1.x86_64.rpm: the desktop app with the
#     `consilium` command line (Tauri's bundler);
#   consilium-relay_VERSION-1_amd64.deb: the relay as a hardened system service (cargo-deb).
# The version is the workspace's (Cargo.toml); each tool is installed once, beside the build cache.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
source scripts/env.sh
tools="$HOME/.cache/consilium/tools"
export PATH="$tools/bin:$PATH"
source scripts/quietly.sh
if ! cargo tauri --version 2>/dev/null | grep -q '^tauri-cli 2\.11\.'; then
    echo "installing Tauri's bundler (tauri-cli)"
    quietly cargo install tauri-cli --version '=2.11.5' --locked --root "$tools"
fi
if ! command -v cargo-deb >/dev/null; then
    echo "installing cargo-deb"
    quietly cargo install cargo-deb --version '=3.8.0' --locked --root "$tools"
fi

out="$root/dist/packages"
rm -rf "$out"
mkdir -p "$out"
release="$CARGO_TARGET_DIR/release"

echo "== the window's front end"
quietly npm --prefix ui run build
# Packages carry stripped programs without debug information: one release build for the three
# (the profile's line tables serve backtraces in development and benchmarks).
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols
echo "== the command line, its image decoder and the relay (release)"
quietly cargo build --release --locked -p consilium-cli -p consilium-deid -p consilium-relay

echo "== the desktop app: .deb and .rpm"
# What only a package carries, given to the bundler beside tauri.conf.json (whose paths are
# relative to src-tauri/); the command line from the build above.
bundle_config="$(mktemp --suffix=.json)"
extras="$(mktemp -d)"
gzip -9n -c packaging/changelog >"$extras/changelog.gz"
# The shared libraries the command line links, as Debian names their packages (the window's
# come with the WebKitGTK and GTK the bundler names).
mkdir -p "$extras/shlibs/debian"
touch "$extras/shlibs/debian/control"
libs="$(cd "$extras/shlibs" && dpkg-shlibdeps -O "$release/consilium" "$release/consilium-decoder" 2>/dev/null \
    | sed -n 's/^shlibs:Depends=//p')"
depends="$(echo "$libs" | tr ',' '\n' | sed 's/^ *//; s/"/\\"/g; s/.*/"&"/' | paste -sd, -)"
# The .rpm names the same libraries as rpm's own dependency generator would, by soname
# (libheif.so.1()(64bit)), which every RPM distribution resolves to its own package; the bundler
# adds the window's WebKitGTK and GTK the same way.
rpm_requires="$(objdump -p "$release/consilium" "$release/consilium-decoder" | awk '/NEEDED/ {print $2}' \
    | sort -u | grep -v '^ld-linux' | sed 's/.*/"&()(64bit)"/' | paste -sd, -)"
cat >"$bundle_config" <<JSON
{
  "bundle": {
    "active": true,
    "targets": ["deb", "rpm"],
    "publisher": "Consilium maintainers <maintainers@consilium.example.org>",
    "copyright": "2026 Consilium maintainers",
    "license": "AGPL-3.0-or-later",
    "homepage": "https://consilium.example.org",
    "category": "Productivity",
    "shortDescription": "Share confidential clinical cases with a closed circle of specialists",
    "longDescription": "Consilium lets physicians write a structured clinical case with its\nimages, remove what identifies the patient, and share it end-to-end\nencrypted with small closed circles of colleagues. Cases stay in an\nencrypted vault on this computer; a relay that cannot read them carries\nthem. The package holds the desktop app and the consilium command line.",
    "icon": ["../icons/16x16.png", "../icons/24x24.png", "../icons/32x32.png", "../icons/48x48.png",
             "../icons/64x64.png", "../icons/128x128.png", "../icons/256x256.png",
             "../icons/512x512.png", "../icons/128x128@2x.png"],
    "linux": {
      "deb": {
        "section": "science",
        "priority": "optional",
        "depends": [$depends],
        "desktopTemplate": "../packaging/desktop/consilium.desktop.hbs",
        "files": {
          "/usr/bin/consilium": "$release/consilium",
          "/usr/bin/consilium-decoder": "$release/consilium-decoder",
          "/usr/share/metainfo/org.consilium.desktop.metainfo.xml": "../packaging/desktop/org.consilium.desktop.metainfo.xml",
          "/usr/share/doc/consilium/copyright": "../packaging/copyright",
          "/usr/share/doc/consilium/changelog.gz": "$extras/changelog.gz"
        }
      },
      "rpm": {
        "release": "1",
        "depends": [$rpm_requires],
        "desktopTemplate": "../packaging/desktop/consilium.desktop.hbs",
        "files": {
          "/usr/bin/consilium": "$release/consilium",
          "/usr/bin/consilium-decoder": "$release/consilium-decoder",
          "/usr/share/metainfo/org.consilium.desktop.metainfo.xml": "../packaging/desktop/org.consilium.desktop.metainfo.xml"
        }
      }
    }
  }
}
JSON
(cd src-tauri && quietly cargo tauri build --ci --config "$bundle_config")
rm -rf "$bundle_config" "$extras"
# Named as the packages inside are (the bundler names the files after the product's "Consilium").
for f in "$release"/bundle/deb/*.deb "$release"/bundle/rpm/*.rpm; do
    name="$(basename "$f")"
    cp "$f" "$out/${name,}"
done

echo "== the relay: .deb"
quietly cargo deb --no-build -p consilium-relay --output "$out/"

ls -l "$out"
