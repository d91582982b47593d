#!/usr/bin/env bash
# Installs every build, test and tool dependency of Explainer from Debian bookworm
# packages. Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # C++ libraries
  libtorch-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libopencv-dev libabsl-dev nlohmann-json3-dev libjpeg62-turbo-dev
  # tcmalloc, the servers' allocator (common/process_heap.h)
  libgoogle-perftools-dev
  # TLS start-up checks and SHA-256 (service/security), test certificates (openssl)
  libssl-dev openssl
  # DICOM: decoding in common/ (DCMTK), test cases made at test time with DCMTK's
  # tools and pydicom (+ GDCM for its JPEG/JPEG-LS reference decodes), a real PACS
  # (Orthanc) in the DICOM end-to-end test
  libdcmtk-dev dcmtk python3-pydicom python3-gdcm orthanc
  # Prometheus metrics of the server (service/server/metrics.cc)
  prometheus-cpp-dev
  googletest libgtest-dev libgmock-dev
  # fuzzing and sanitizer builds (scripts/fuzz.sh: clang + libFuzzer; gcc's ASan/TSan
  # runtimes come with build-essential)
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  # second build system (offline, local repositories only)
  bazel-bootstrap
  # reference computations, model export and demo training
  python3 python3-torch python3-torchvision python3-numpy python3-pil python3-opencv
  # the CAM family goldens (tests/data/engine/make_cam_family_goldens.py runs
  # pytorch-grad-cam: scipy for ROAD's imputer; tqdm, sklearn, matplotlib for its imports)
  python3-scipy python3-tqdm python3-sklearn python3-matplotlib
  # soak test (tests/soak): gRPC client and messages for Debian's python3
  python3-grpcio python3-protobuf
  # deployment: container images (scripts/test-image.sh) and the Kubernetes
  # manifests' structural test (kubectl itself is not a Debian package)
  mmdebstrap buildah podman uidmap python3-yaml
  # browser test of the gallery page
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
