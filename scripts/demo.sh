#!/usr/bin/env bash
# The README's first command: on a fresh Debian bookworm machine, installs what is
# missing, builds, generates a synthetic BTXRD-style demo folder, starts
# explainer-server on the embedded demo model, runs `explainer infer` over the folder
# with its annotations, prints the summary and where the outputs are, and stops the
# server.
#
#   bash scripts/demo.sh [--count N] [--seed S] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

COUNT=40
SEED=2024
OUT="$ROOT/demo"
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "demo.sh: unknown argument '$1' (expected --count N, --seed S, --out DIR)" >&2; exit 2 ;;
  esac
done
BUILD="$ROOT/build"

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "build (CMake, Release)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target explainer-server explainer explainer-phantom -j"$(nproc)"

step "demo data: $COUNT synthetic radiographs (seed $SEED) in $OUT/data"
rm -rf "$OUT"
mkdir -p "$OUT"
"$BUILD/tools/phantom/explainer-phantom" --out "$OUT/data" --count "$COUNT" --seed "$SEED"

step "server: explainer-server on the embedded demo model"
LOG="$OUT/server.log"
"$BUILD/service/server/explainer-server" --address=127.0.0.1:0 >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
ADDR=""
for _ in $(seq 1 300); do
  ADDR=$(sed -n 's/^explainer-server: serving .* at \([^ ]*\)$/\1/p' "$LOG" | head -n1)
  [ -n "$ADDR" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "demo.sh: explainer-server exited during start-up:" >&2; cat "$LOG" >&2; exit 1
  fi
  sleep 0.2
done
[ -n "$ADDR" ] || { echo "demo.sh: explainer-server did not start within 60 s:" >&2; cat "$LOG" >&2; exit 1; }
cat "$LOG"

step "explainer info"
"$BUILD/client/explainer" info --server "$ADDR"

step "explainer infer over $OUT/data/images"
"$BUILD/client/explainer" infer --server "$ADDR" \
  --input-dir "$OUT/data/images" --annotations-dir "$OUT/data/Annotations" \
  --out "$OUT/infer" --heatmap --save-cam

step "explainer gallery over $OUT/data (labels from its dataset.csv)"
"$BUILD/client/explainer" gallery --server "$ADDR" \
  --input-dir "$OUT/data/images" --labels "$OUT/data/dataset.csv" \
  --annotations-dir "$OUT/data/Annotations" --out "$OUT/gallery"

step "done"
echo "overlays, heatmaps, cams and results.jsonl: $OUT/infer"
echo "gallery page: $OUT/gallery/index.html"
