#!/usr/bin/env bash
# Fetches the corpora of real-world files the tests run against: Pillow's own test images
# (real camera photos with maker notes, GPS, XMP, IPTC and ICC profiles; truncated, fuzzed and
# decompression-bomb files), from the Pillow source distribution on PyPI. Nobody on this project
# wrote them. Idempotent; the corpus lives outside the clone.
set -euo pipefail
dest="${CONSILIUM_SAMPLES:-$HOME/.cache/consilium-samples}"
version="11.3.0"
mkdir -p "$dest"
if [ ! -f "$dest/pillow/.complete-$version" ]; then
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-binary :all: --no-deps "pillow==$version" -d "$tmp"
    rm -rf "$dest/pillow"
    mkdir -p "$dest/pillow"
    tar -xzf "$tmp/pillow-$version.tar.gz" -C "$dest/pillow" --strip-components=1 --wildcards "*/Tests/images/*"
    rm -rf "$tmp"
    touch "$dest/pillow/.complete-$version"
    echo "samples: $(find "$dest/pillow/Tests/images" -type f | wc -l) files in $dest/pillow/Tests/images"
fi

# Every file under PREFIX in the wheel of PACKAGE==VERSION from PyPI, into OUT (emptied first),
# keeping the paths below PREFIX.
wheel_files() {
    local package="$1" version="$2" prefix="$3" out="$4" tmp
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --only-binary :all: --no-deps "$package==$version" -d "$tmp"
    rm -rf "$out"
    mkdir -p "$out"
    python3 -c 'import os, sys, zipfile
wheel, prefix, out = sys.argv[1:4]
z = zipfile.ZipFile(wheel)
for n in z.namelist():
    if n.startswith(prefix) and not n.endswith("/"):
        path = os.path.join(out, n[len(prefix):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(z.read(n))' "$tmp"/*.whl "$prefix" "$out"
    rm -rf "$tmp"
}

# The DICOM files pydicom ships for its own tests (CT, MR, JPEG 2000, JPEG, RLE, ultrasound,
# secondary captures, truncated and preamble-less files; several carry patient and institution
# names), from the pydicom wheel on PyPI.
pydicom_version="3.0.2"
if [ ! -f "$dest/pydicom/.complete-$pydicom_version" ]; then
    rm -rf "$dest/pydicom"
    wheel_files pydicom "$pydicom_version" "pydicom/data/test_files/" "$dest/pydicom/test_files"
    touch "$dest/pydicom/.complete-$pydicom_version"
    echo "samples: $(find "$dest/pydicom/test_files" -type f | wc -l) DICOM test files in $dest/pydicom/test_files"
fi

# The larger files of pydicom's data package (NEMA's compression test set among them): real
# radiographs (RG1 chest CR, RG3) at full size, uncompressed and JPEG 2000 lossless/lossy,
# ultrasound, MR, and a palette-colour face in an "other" modality file. Into the same folder,
# under data_store/.
pydicom_data_version="1.0.0"
if [ ! -f "$dest/pydicom/.complete-data-$pydicom_data_version" ]; then
    wheel_files pydicom-data "$pydicom_data_version" "data_store/data/" "$dest/pydicom/test_files/data_store"
    touch "$dest/pydicom/.complete-data-$pydicom_data_version"
    echo "samples: $(find "$dest/pydicom/test_files/data_store" -type f | wc -l) DICOM files from pydicom-data"
fi

# HEIC/HEIF photos from pillow-heif's own tests (its source distribution on PyPI): real iPhone
# photos (an iPhone 13 Pro's with GPS, an iPhone 8 Plus's taken sideways: Orientation "Rotate
# 90 CW" and the container's rotation), Samsung and Xiaomi photos, a 200-megapixel one, and
# corrupted and truncated files.
heif_version="1.9.0"
if [ ! -f "$dest/pillow_heif/.complete-$heif_version" ]; then
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-binary :all: --no-deps "pillow_heif==$heif_version" -d "$tmp"
    rm -rf "$dest/pillow_heif"
    mkdir -p "$dest/pillow_heif"
    tar -xzf "$tmp/pillow_heif-$heif_version.tar.gz" -C "$dest/pillow_heif" --strip-components=1 --wildcards "*/tests/images/*"
    rm -rf "$tmp"
    touch "$dest/pillow_heif/.complete-$heif_version"
    echo "samples: $(find "$dest/pillow_heif/tests/images" -type f | wc -l) HEIF files in $dest/pillow_heif/tests/images"
fi
