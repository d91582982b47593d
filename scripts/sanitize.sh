#!/usr/bin/env bash
# Builds and runs the unit tests under sanitizers, printing how long each stage took:
#   asan  build-asan/: -fsanitize=address,undefined (gcc, -O1): common_tests,
#         server_tests, server_engine_tests, client_tests, gallery_tests and the three
#         fuzz replays.
#   tsan  build-tsan/: -fsanitize=thread (gcc, -O1): server_tests' concurrent parts
#         that run on our own threads: the batcher, the worker pool and the item
#         processor. Not yet: the in-process gRPC server tests (ExplainerServer*): gRPC
#         core is uninstrumented and hands buffers between its threads in ways TSan
#         cannot see, so grpcpp's inline code reports races that are not ours; and
#         ExplainerServerEngineTest (LibTorch's uninstrumented OpenMP pool).
# Every report halts its test binary (halt_on_error, no recovery), so any finding fails
# the script. Suppressions, for uninstrumented third-party code only, are in
# tests/sanitizers/ with the reason for each. Not run here: the engine tests (pure
# LibTorch), the e2e and gallery browser tests (child processes, minutes under ASan)
# and the phantom tests.
#
#   scripts/sanitize.sh              # both
#   scripts/sanitize.sh asan         # one of them
#
# Environment (all optional):
#   SANITIZE_JOBS           build parallelism (default nproc)
#   EXPLAINER_SHARED_DIR    shared data folder (default ../shared beside the checkout)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODES=("$@")
[ ${#MODES[@]} -eq 0 ] && MODES=(asan tsan)
JOBS="${SANITIZE_JOBS:-$(nproc)}"
export EXPLAINER_SHARED_DIR="$(realpath -m "${EXPLAINER_SHARED_DIR:-$ROOT/../shared}")"
SUPP="$ROOT/tests/sanitizers"

START=$SECONDS
SUMMARY=()
FAILED=0
stage_start=$SECONDS

# stage NAME CMD...: runs one stage, records its time and result, keeps going.
stage() {
  local name="$1"; shift
  echo
  echo "== sanitize: $name ($(date '+%H:%M:%S'))"
  stage_start=$SECONDS
  local rc=0
  "$@" || rc=$?
  local took=$((SECONDS - stage_start))
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("ok      ${took}s  $name")
  else
    SUMMARY+=("FAILED  ${took}s  $name (exit $rc)")
    FAILED=1
  fi
  return "$rc"
}

configure() {  # configure DIR SANITIZERS
  # -O1: ASan's and TSan's own advice, and the tests run about as fast as at -O2
  # while the build is quicker. PRE_TEST discovery: no test binary runs at build time.
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST \
    -DEXPLAINER_SANITIZE="$2" >/dev/null
}

# run_tests DIR BINARY [GTEST_ARGS...]: one test binary, from the repository root.
run_tests() {
  local dir="$1" binary="$2"; shift 2
  echo "-- $binary $*"
  "$dir/$binary" --gtest_brief=1 "$@"
}

FUZZ_REPLAYS=(image_decode labelme explain_request)

asan() {
  local dir=build-asan rc=0
  stage "asan: configure + build (-j$JOBS)" bash -c "
    $(declare -f configure); configure $dir address,undefined &&
    cmake --build $dir -j$JOBS --target common_tests server_tests server_engine_tests \
      client_tests gallery_tests ${FUZZ_REPLAYS[*]/%/_fuzz_replay}" || return 1
  # LibTorch (linked by server_engine_tests through the engine) needs nothing special: gcc's
  # ASan runtime comes first in the link, and no ODR or leak report comes from it.
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:suppressions=$SUPP/asan.supp"
  export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$SUPP/ubsan.supp"
  stage "asan: common_tests" run_tests $dir tests/common/common_tests || rc=1
  stage "asan: server_tests" run_tests $dir tests/server/server_tests || rc=1
  stage "asan: server_engine_tests" run_tests $dir tests/server/server_engine_tests || rc=1
  stage "asan: client_tests" run_tests $dir tests/client/client_tests || rc=1
  stage "asan: gallery_tests" run_tests $dir tests/client/gallery/gallery_tests || rc=1
  for t in "${FUZZ_REPLAYS[@]}"; do
    stage "asan: ${t}_fuzz_replay" "$dir/tests/fuzz/${t}_fuzz_replay" \
      "tests/fuzz/$t/corpus" "tests/fuzz/$t/regressions" || rc=1
  done
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
  return "$rc"
}

tsan() {
  local dir=build-tsan
  stage "tsan: configure + build (-j$JOBS)" bash -c "
    $(declare -f configure); configure $dir thread &&
    cmake --build $dir -j$JOBS --target server_tests absl_mutex_tsan absl_mutex_tsan_check" || return 1
  # Debian's absl, gRPC and LibTorch are not instrumented. ignore_noninstrumented_modules:
  # what they do through interceptors (memcpy, free...) is not checked. The preloaded
  # absl_mutex_tsan.so tells TSan about absl::Mutex/Notification/BlockingCounter,
  # without which every guarded field of ours would be reported (tests/sanitizers/).
  export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$SUPP/tsan.supp"
  local rc=0 preload="$ROOT/$dir/tests/sanitizers/libabsl_mutex_tsan.so"
  # The annotations must neither leave false reports nor hide a real race.
  stage "tsan: absl_mutex_tsan self-check" bash -c "
    env LD_PRELOAD=$preload $dir/tests/sanitizers/absl_mutex_tsan_check &&
    { env LD_PRELOAD=$preload $dir/tests/sanitizers/absl_mutex_tsan_check race 2>/dev/null;
      [ \$? -ne 0 ] || { echo 'a real race went unreported'; exit 1; }; }" || return 1
  stage "tsan: server_tests (batcher, worker pool, item processor)" \
    env LD_PRELOAD="$preload" "$dir/tests/server/server_tests" --gtest_brief=1 \
    --gtest_filter='BatcherTest.*:WorkerPoolTest.*:ItemProcessorTest.*' || rc=1
  unset TSAN_OPTIONS
  return "$rc"
}

for mode in "${MODES[@]}"; do
  case "$mode" in
    asan) asan || true ;;
    tsan) tsan || true ;;
    *) echo "sanitize.sh: unknown mode $mode (asan or tsan)" >&2; exit 2 ;;
  esac
done

echo
echo "== sanitize summary ($((SECONDS - START))s in all)"
for line in "${SUMMARY[@]}"; do echo "   $line"; done
exit "$FAILED"
