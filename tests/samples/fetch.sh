#!/usr/bin/env bash
# Fetches the corpus of real-world images the tests run against: Pillow's own test images
# (real camera photos with maker notes, GPS, XMP, IPTC and ICC profiles; truncated, fuzzed and
# decompression-bomb files), from the Pillow source distribution on PyPI. Nobody on this project
# wrote them. Idempotent; the corpus lives outside the clone.
set -euo pipefail
dest="${CONSILIUM_SAMPLES:-$HOME/.cache/consilium-samples}"
version="11.3.0"
if [ -f "$dest/pillow/.complete-$version" ]; then
    exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-binary :all: --no-deps "pillow==$version" -d "$tmp"
rm -rf "$dest/pillow"
mkdir -p "$dest/pillow"
tar -xzf "$tmp/pillow-$version.tar.gz" -C "$dest/pillow" --strip-components=1 --wildcards "*/Tests/images/*"
touch "$dest/pillow/.complete-$version"
echo "samples: $(find "$dest/pillow/Tests/images" -type f | wc -l) files in $dest/pillow/Tests/images"
