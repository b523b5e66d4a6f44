#!/bin/sh
# Regenerates the committed seed corpus (seeds/) with the project's own writers
# (make-seeds.rs). Built like the fuzz targets (nightly, cargo-fuzz) to reuse their build.
set -eu
cd "$(dirname "$0")"
nice cargo +nightly fuzz build -O make-seeds
rm -rf seeds
ASAN_OPTIONS=detect_leaks=0 "target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release/make-seeds"
du -sh seeds/*
