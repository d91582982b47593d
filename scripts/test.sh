#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs missing dependencies, then
# builds and tests with CMake (ctest) and with Bazel (bazel test //...).
# Exits non-zero if any stage fails; both builds run even if the first one fails.
#
# Environment (all optional):
#   EXPLAINER_SHARED_DIR    shared data folder (default: ../shared beside the checkout)
#   EXPLAINER_REQUIRE_SHARED_DATA=1  tests that need the real BTXRD files fail when
#                           they are absent (CI sets it); otherwise they are skipped
#   CMAKE_BUILD_DIR         CMake build folder (default: build)
#   BAZEL_OUTPUT_BASE       Bazel output base (default: Bazel's, ~/.cache/bazel/...)
#   BAZEL_FLAGS             extra flags for `bazel test`, e.g. "--nocache_test_results"
#   EXPLAINER_SKIP_CMAKE=1  / EXPLAINER_SKIP_BAZEL=1   run only one of the builds
#   EXPLAINER_BAZEL_SHUTDOWN=1  stop the Bazel server at the end (CI sets it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

JOBS="$(nproc)"
BUILD_DIR="${CMAKE_BUILD_DIR:-build}"
SHARED_DIR="${EXPLAINER_SHARED_DIR:-$ROOT/../shared}"
SHARED_DIR="$(realpath -m "$SHARED_DIR")"

START=$SECONDS
STAGE_START=$SECONDS
FAILED=()
SUMMARY=()

stage() {
  STAGE_START=$SECONDS
  echo
  echo "=================================================================="
  echo "== $*"
  echo "==   $(date '+%H:%M:%S'), ${JOBS} cores"
  echo "=================================================================="
}

# done_stage NAME STATUS: records how the stage went and how long it took.
done_stage() {
  local name="$1" status="$2" took=$((SECONDS - STAGE_START))
  if [ "$status" -eq 0 ]; then
    SUMMARY+=("ok      ${took}s  $name")
  else
    SUMMARY+=("FAILED  ${took}s  $name (exit $status)")
    FAILED+=("$name")
  fi
}

# run NAME CMD...: runs one stage command without letting `set -e` end the script.
run() {
  local name="$1"; shift
  local status=0
  "$@" || status=$?
  done_stage "$name" "$status"
  return "$status"
}

BAZEL=(bazel)
BAZEL_TEST_FLAGS=()
if [ -n "${BAZEL_OUTPUT_BASE:-}" ]; then
  BAZEL+=("--output_base=$BAZEL_OUTPUT_BASE")
  # Bazel skips the bazel-* links into its own output base when it expands //..., but
  # walks into links that point at another one (and fails inside Bazel's own tools).
  # So: make no such links for this output base, and drop stale ones (they are only
  # convenience links; the next build with the default output base remakes them).
  BAZEL_TEST_FLAGS+=("--symlink_prefix=/")
  for link in bazel-*; do
    if [ -L "$link" ] && [[ "$(readlink "$link")" != "$BAZEL_OUTPUT_BASE"/* ]]; then
      echo "test.sh: removing convenience link $link (another Bazel output base)"
      rm -f "$link"
    fi
  done
fi

finish() {
  local status=$?
  if [ "${EXPLAINER_BAZEL_SHUTDOWN:-0}" = 1 ] && command -v bazel >/dev/null; then
    "${BAZEL[@]}" shutdown >/dev/null 2>&1 || true
  fi
  echo
  echo "=================================================================="
  echo "== Summary ($((SECONDS - START))s in all)"
  for line in "${SUMMARY[@]}"; do echo "   $line"; done
  if [ ${#FAILED[@]} -ne 0 ]; then
    echo "== FAILED: ${FAILED[*]}"
    status=1
  elif [ "$status" -eq 0 ]; then
    echo "== All stages passed"
  fi
  echo "=================================================================="
  exit "$status"
}
trap finish EXIT

stage "[1/3] Dependencies (scripts/install-deps.sh)"
# Nothing can build without them: stop here if this fails.
if ! run "dependencies" bash scripts/install-deps.sh; then
  exit 1
fi

if [ "${EXPLAINER_SKIP_CMAKE:-0}" != 1 ]; then
  stage "[2/3] CMake: configure, build (-j${JOBS}) and ctest in ${BUILD_DIR}/"
  if run "cmake configure" cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
     run "cmake build" cmake --build "$BUILD_DIR" -j"$JOBS"; then
    run "ctest" env EXPLAINER_SHARED_DIR="$SHARED_DIR" \
      EXPLAINER_REQUIRE_SHARED_DATA="${EXPLAINER_REQUIRE_SHARED_DATA:-0}" \
      ctest --test-dir "$BUILD_DIR" --output-on-failure || true
  fi
fi

if [ "${EXPLAINER_SKIP_BAZEL:-0}" != 1 ]; then
  stage "[3/3] Bazel: bazel test //... (offline; settings in .bazelrc)"
  # --keep_going: one broken target must not hide the results of all the others.
  # shellcheck disable=SC2086  # BAZEL_FLAGS is a list of flags.
  run "bazel test" "${BAZEL[@]}" test --keep_going \
    --test_output=errors \
    --test_env=EXPLAINER_SHARED_DIR="$SHARED_DIR" \
    --test_env=EXPLAINER_REQUIRE_SHARED_DATA="${EXPLAINER_REQUIRE_SHARED_DATA:-0}" \
    ${BAZEL_TEST_FLAGS[@]+"${BAZEL_TEST_FLAGS[@]}"} \
    ${BAZEL_FLAGS:-} \
    -- //... || true
fi
