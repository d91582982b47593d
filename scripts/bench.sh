#!/usr/bin/env bash
# One command for issue 11's CPU figures: the served throughput (`explainer bench`
# against its own explainer-server on a loopback port), the engine alone
# (explainer-engine-bench) and the Python anchors (tools/bench/anchors.py: TorchScript
# and eager forward, pytorch-grad-cam GradCAM) on the same image files and bundle,
# then the ratios side by side (tools/bench/compare.py). Builds nothing: build the
# three binaries first (cmake --build build --target explainer explainer-server
# explainer-engine-bench).
#
# Settings (environment variables, defaults in brackets):
#   MODEL     bundle [build/bench/efficientnet_b0_224.pt, exported once with
#             tools/export_model.py --arch efficientnet_b0 --random-init, 224 px]
#   IMAGES    generated images [64]     SIZE   their size WxH [1000x1000]
#   BATCH     server --max_batch_size and the in-process batch size [8]
#   BATCHES   timed batches per in-process mode [8]
#   DURATION  served measuring time [30s]; MODE served output mode [overlay]
#   METHOD    CAM method [grad-cam]; STREAMS, WINDOW served streams and window [1, 16]
#   THREADS   intra-op threads of all three (server --threads, engine bench --threads,
#             anchors --threads) [each tool's default: all cores]
#   SERVER_FLAGS  extra explainer-server flags (e.g. "--workers=1")
#   ENGINE_FLAGS  extra explainer-engine-bench flags
#   DEVICE    cpu or cuda[:N] for the server and the engine bench [cpu]
#   ANCHORS   1: run the Python anchors; 0: skip them (a GPU host without torchvision) [1]
#   OUT       results folder [build/bench/run]; BUILD build tree [build]
#   LIMIT     seconds any one step may take before it is killed [1800]
# pytorch-grad-cam is used when importable or extracted under build/bench/pgc (with
# ttach under build/bench/ttach; see tools/bench/anchors.py); otherwise the anchor
# is the faithful re-implementation the engine goldens use, and the output says so.
# Writes OUT/{images/,served.json,engine.json,anchors.json,summary.json,server.log}.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
OUT=${OUT:-build/bench/run}
IMAGES=${IMAGES:-64}
SIZE=${SIZE:-1000x1000}
BATCH=${BATCH:-8}
BATCHES=${BATCHES:-8}
DURATION=${DURATION:-30s}
MODE=${MODE:-overlay}
METHOD=${METHOD:-grad-cam}
STREAMS=${STREAMS:-1}
WINDOW=${WINDOW:-16}
SERVER_FLAGS=${SERVER_FLAGS:-}
ENGINE_FLAGS=${ENGINE_FLAGS:-}
THREADS=${THREADS:-}
DEVICE=${DEVICE:-cpu}
ANCHORS=${ANCHORS:-1}
LIMIT=${LIMIT:-1800}
PY=/usr/bin/python3
CLIENT="$BUILD/client/explainer"
SERVER="$BUILD/service/server/explainer-server"
ENGINE_BENCH="$BUILD/service/engine/bench/explainer-engine-bench"

# Each step says the load it starts under: on a shared machine the figures of a step
# are only as comparable as its load.
step() { printf '\n== %s (load %s)\n' "$*" "$(cut -d' ' -f1 /proc/loadavg)"; }
THREAD_FLAG=()
[ -n "$THREADS" ] && THREAD_FLAG=("--threads=$THREADS")
for bin in "$CLIENT" "$SERVER" "$ENGINE_BENCH"; do
  [ -x "$bin" ] || { echo "bench.sh: $bin missing; build it: cmake --build $BUILD --target explainer explainer-server explainer-engine-bench" >&2; exit 2; }
done

step "machine"
echo "$(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"

if [ -z "${MODEL:-}" ]; then
  MODEL=build/bench/efficientnet_b0_224.pt
  if [ ! -f "$MODEL" ]; then
    step "bundle: EfficientNet-B0, random weights, 224 px -> $MODEL"
    mkdir -p "$(dirname "$MODEL")"
    timeout "$LIMIT" "$PY" tools/export_model.py --arch efficientnet_b0 --random-init \
      --classes Normal,Benign,Malignant --input-size 224 --out "$MODEL"
  fi
fi
echo "bundle: $MODEL"

step "images: $IMAGES generated ${SIZE} JPEGs -> $OUT/images"
rm -rf "$OUT"
mkdir -p "$OUT"
"$CLIENT" bench --write-images "$OUT/images" --images "$IMAGES" --image-size "$SIZE"

step "served: explainer-server (--max_batch_size=$BATCH --device=$DEVICE ${THREAD_FLAG[*]} $SERVER_FLAGS) + explainer bench"
# shellcheck disable=SC2086  # SERVER_FLAGS is a list of flags
timeout "$LIMIT" "$SERVER" --address=127.0.0.1:0 --model="$MODEL" --max_batch_size="$BATCH" \
  --device="$DEVICE" "${THREAD_FLAG[@]}" $SERVER_FLAGS >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
ADDR=""
for _ in $(seq 1 600); do
  ADDR=$(sed -n 's/^explainer-server: serving .* at \([^ ]*\)$/\1/p' "$OUT/server.log" | head -n1)
  [ -n "$ADDR" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench.sh: the server exited:" >&2; cat "$OUT/server.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$ADDR" ] || { echo "bench.sh: the server did not start within 120 s" >&2; exit 1; }
# The server's own split of the cores ("N cores: E engine threads, W workers; ..."): the
# engine bench then runs its engine and its pipelined decode on the same counts.
# (It follows the "serving" line; older servers do not print it: then the defaults.)
SPLIT=""
for _ in $(seq 1 50); do
  SPLIT=$(sed -n 's/^explainer-server: [0-9]* cores: \([0-9]*\) engine threads, \([0-9]*\) workers.*/\1 \2/p' "$OUT/server.log" | head -n1)
  [ -n "$SPLIT" ] && break
  sleep 0.1
done
SERVER_ENGINE_THREADS=${SPLIT% *}
SERVER_WORKERS=${SPLIT#* }
timeout "$LIMIT" "$CLIENT" bench --server "$ADDR" --input-dir "$OUT/images" --duration "$DURATION" \
  --mode "$MODE" --method "$METHOD" --streams "$STREAMS" --window "$WINDOW" --json "$OUT/served.json"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
trap - EXIT

step "in-process: explainer-engine-bench (batch $BATCH, $BATCHES timed batches per mode)"
# shellcheck disable=SC2086  # ENGINE_FLAGS is a list of flags
timeout "$LIMIT" "$ENGINE_BENCH" --model="$MODEL" --input_dir="$OUT/images" --batch_size="$BATCH" \
  --batches="$BATCHES" --method="$METHOD" --device="$DEVICE" \
  "--threads=${THREADS:-${SERVER_ENGINE_THREADS:-0}}" "--decode_threads=${SERVER_WORKERS:-1}" $ENGINE_FLAGS \
  --json="$OUT/engine.json"

ANCHORS_JSON=()
if [ "$ANCHORS" = 1 ]; then
  step "Python anchors: tools/bench/anchors.py (batch $BATCH)"
  PGC_PATH=""
  for dir in build/bench/pgc build/bench/ttach; do [ -d "$dir" ] && PGC_PATH="$PGC_PATH:$PWD/$dir"; done
  PYTHONPATH="${PYTHONPATH:-}$PGC_PATH" timeout "$LIMIT" "$PY" tools/bench/anchors.py --model "$MODEL" \
    --input-dir "$OUT/images" --batch-size "$BATCH" --batches "$BATCHES" \
    ${THREADS:+--threads "$THREADS"} --json "$OUT/anchors.json"
  ANCHORS_JSON=("$OUT/anchors.json")
fi

step "side by side"
"$PY" tools/bench/compare.py "$OUT/served.json" "$OUT/engine.json" "${ANCHORS_JSON[@]}" \
  --json "$OUT/summary.json"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
