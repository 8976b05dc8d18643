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

# The DICOM files pydicom ships for its own tests (CT, MR, JPEG 2000, JPEG, RLE, ultrasound,
# secondary captures, truncated and preamble-less files; several carry patient and institution
# names), from the pydicom wheel on PyPI.
pydicom_version="3.0.2"
if [ ! -f "$dest/pydicom/.complete-$pydicom_version" ]; then
    ptmp="$(mktemp -d)"
    python3 -m pip download --quiet --only-binary :all: --no-deps "pydicom==$pydicom_version" -d "$ptmp"
    rm -rf "$dest/pydicom"
    mkdir -p "$dest/pydicom"
    python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
prefix = "pydicom/data/test_files/"
for n in z.namelist():
    if n.startswith(prefix) and not n.endswith("/"):
        out = sys.argv[2] + "/test_files/" + n[len(prefix):]
        import os; os.makedirs(os.path.dirname(out), exist_ok=True)
        open(out, "wb").write(z.read(n))' "$ptmp"/pydicom-*.whl "$dest/pydicom"
    rm -rf "$ptmp"
    touch "$dest/pydicom/.complete-$pydicom_version"
    echo "samples: $(find "$dest/pydicom/test_files" -type f | wc -l) DICOM test files in $dest/pydicom/test_files"
fi

# The larger files of pydicom's data package (NEMA's compression test set among them): real
# radiographs (RG1 chest CR, RG3) at full size, uncompressed and JPEG 2000 lossless/lossy,
# ultrasound, MR, and a palette-colour face in an "other" modality file. Into the same folder,
# under data_store/.
pydicom_data_version="1.0.0"
if [ ! -f "$dest/pydicom/.complete-data-$pydicom_data_version" ]; then
    dtmp="$(mktemp -d)"
    python3 -m pip download --quiet --only-binary :all: --no-deps "pydicom-data==$pydicom_data_version" -d "$dtmp"
    rm -rf "$dest/pydicom/test_files/data_store"
    mkdir -p "$dest/pydicom/test_files/data_store"
    python3 -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
prefix = "data_store/data/"
for n in z.namelist():
    if n.startswith(prefix) and n.endswith(".dcm"):
        open(os.path.join(sys.argv[2], n[len(prefix):]), "wb").write(z.read(n))' "$dtmp"/pydicom_data-*.whl "$dest/pydicom/test_files/data_store"
    rm -rf "$dtmp"
    touch "$dest/pydicom/.complete-data-$pydicom_data_version"
    echo "samples: $(find "$dest/pydicom/test_files/data_store" -type f | wc -l) DICOM files from pydicom-data"
fi
