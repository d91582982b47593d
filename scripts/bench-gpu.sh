#!/usr/bin/env bash
# The GPU half of issue 11's measurements, for the device machine (see the `device`
# tool and ../shared/device-kit/README.md); NOT yet run on a device.
#   engine Grad-CAM at batch 256, fp32 (goal >= 10,000 images/s on an H100/H200) and,
#     once the engine has precision modes, bf16 + channels_last (goal >= 16,000):
#     PRECISION_FLAGS names the explainer-engine-bench flag for it; without one only
#     fp32 is measured and the output says so;
#   served on the same host, 1000-px JPEG inputs, heatmap outputs (goal >= 3,000/s).
# Prepare here (the device gets the checkout only, so the kit and the bundle travel in
# ignored paths named in `carry`):
#   mkdir -p .device && cp -r ../shared/device-kit .device/
#   scripts/bench.sh once (it exports build/bench/efficientnet_b0_224.pt), then
#   cp build/bench/efficientnet_b0_224.pt .device/
# Device command (carry [".device"]):
#   OUT_ROOT=$OUT scripts/bench-gpu.sh
# Settings: MODEL [.device/efficientnet_b0_224.pt], BATCH [256], IMAGES [256],
#   BATCHES [20], DURATION [30s], STREAMS [4], WINDOW [256], BUILD [/tmp/build-gpu], OUT_ROOT [build/bench],
#   SKIP_BUILD=1 to reuse BUILD, DEVICE [cuda] (DEVICE=cpu BATCH=8 runs the same steps on
#   a CPU host with an existing BUILD, to check the script).
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-256}
IMAGES=${IMAGES:-256}
DURATION=${DURATION:-30s}
STREAMS=${STREAMS:-4}
WINDOW=${WINDOW:-256}
MODEL=${MODEL:-.device/efficientnet_b0_224.pt}
OUT_ROOT=${OUT_ROOT:-build/bench}
BUILD=${BUILD:-/tmp/build-gpu}
PRECISION_FLAGS=${PRECISION_FLAGS:-}
BATCHES=${BATCHES:-20}

[ -f "$MODEL" ] || { echo "bench-gpu.sh: bundle $MODEL missing (see the header: copy it into .device/)" >&2; exit 2; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  kit=$(mktemp -d)
  tar -xJf .device/device-kit/explainer-device-kit.tar.xz -C "$kit"
  # shellcheck disable=SC1091
  source "$kit/explainer-kit/env.sh"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target explainer explainer-server explainer-engine-bench -j"$(nproc)"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

# Engine alone and served, fp32: one bench.sh run without the Python anchors.
BUILD="$BUILD" MODEL="$MODEL" DEVICE="$DEVICE" BATCH="$BATCH" IMAGES="$IMAGES" \
  SIZE=1000x1000 MODE=heatmap DURATION="$DURATION" STREAMS="$STREAMS" WINDOW="$WINDOW" \
  ANCHORS=0 ENGINE_FLAGS="--with_decode=false" OUT="$OUT_ROOT/gpu-fp32" BATCHES="$BATCHES" scripts/bench.sh

if [ -n "$PRECISION_FLAGS" ]; then
  # shellcheck disable=SC2086
  "$BUILD/service/engine/bench/explainer-engine-bench" --model="$MODEL" --device="$DEVICE" \
    --input_dir="$OUT_ROOT/gpu-fp32/images" --batch_size="$BATCH" --batches="$BATCHES" \
    --with_decode=false $PRECISION_FLAGS --json="$OUT_ROOT/gpu-engine-precision.json"
else
  echo "bf16 + channels_last: not measured (set PRECISION_FLAGS to the engine bench's precision flags once the engine has them)"
fi
