#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,address,
# undefined, in build-fuzz/) and runs each for SECONDS (default 60), printing the time
# each stage took and each fuzzer's executions/s and corpus size. Exits non-zero on
# the first crash, sanitizer report, timeout or out-of-memory input; the input is left
# in build-fuzz/artifacts/<target>/ (minimise it, then commit it under
# tests/fuzz/<target>/regressions/, see the message printed).
#
#   scripts/fuzz.sh            # 60 s per target (CI)
#   scripts/fuzz.sh 1800       # a longer run on demand
#
# New inputs go to a scratch corpus, build-fuzz/corpus/<target>/, kept between runs;
# the committed seeds (tests/fuzz/<target>/corpus, made by make_seed_corpus.py) and
# regressions/ are read, never written.
#
# Environment (all optional):
#   FUZZ_BUILD_DIR   build folder (default build-fuzz)
#   FUZZ_TARGETS     targets to run (default "image_decode labelme explain_request")
#   FUZZ_RSS_MB      -rss_limit_mb (default 2048)
#   FUZZ_TIMEOUT_S   -timeout, seconds one input may take (default 10)
#   FUZZ_JOBS        build parallelism (default nproc)
#   FUZZ_SEED        libFuzzer -seed (default 1, so CI mutates the same way each run;
#                    0 lets libFuzzer pick one, for longer runs that should wander)
#   CXX              the clang++ (default clang++-14)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_EACH="${1:-60}"
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
TARGETS=(${FUZZ_TARGETS:-image_decode labelme explain_request})
RSS_MB="${FUZZ_RSS_MB:-2048}"
TIMEOUT_S="${FUZZ_TIMEOUT_S:-10}"
JOBS="${FUZZ_JOBS:-$(nproc)}"
SEED="${FUZZ_SEED:-1}"
CLANGXX="${CXX:-clang++-14}"
case "$(basename "$CLANGXX")" in clang++*) ;; *) CLANGXX=clang++-14 ;; esac

START=$SECONDS
SUMMARY=()
stage_start=$SECONDS
took() { echo "$((SECONDS - stage_start))s"; }

echo "== fuzz: configure + build ${TARGETS[*]} in ${BUILD_DIR}/ ($CLANGXX, -j${JOBS})"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CLANGXX" -DEXPLAINER_FUZZ=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]/%/_fuzzer}"
SUMMARY+=("build                $(took)")

# halt_on_error: the first report ends the run; leaks are reported as crashes too.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"

status=0
for target in "${TARGETS[@]}"; do
  stage_start=$SECONDS
  work="$BUILD_DIR/corpus/$target"
  artifacts="$BUILD_DIR/artifacts/$target/"
  log="$BUILD_DIR/fuzz-$target.log"
  mkdir -p "$work" "$artifacts"
  dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=("-dict=tests/fuzz/$target.dict")
  echo
  echo "== fuzz: $target for ${SECONDS_EACH}s (-rss_limit_mb=$RSS_MB -timeout=$TIMEOUT_S)"
  rc=0
  "$BUILD_DIR/tests/fuzz/${target}_fuzzer" \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT_S" \
    -seed="$SEED" -print_final_stats=1 -artifact_prefix="$artifacts" ${dict[@]+"${dict[@]}"} \
    "$work" "tests/fuzz/$target/corpus" "tests/fuzz/$target/regressions" \
    >"$log" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  corpus="$(sed -n 's/.*\(corp: [0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' "$log" | tail -1)"
  cover="$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -1)"
  line="$(printf '%-20s %s  %s runs, %s exec/s, %s, cov %s' "$target" "$(took)" \
    "${runs:-?}" "${rate:-?}" "${corpus:-corp: ?}" "${cover:-?}")"
  if [ "$rc" -ne 0 ]; then
    status=1
    SUMMARY+=("$line  FAILED (exit $rc)")
    echo "fuzz: $target FAILED (exit $rc); the end of $log:"
    tail -60 "$log"
    echo
    echo "fuzz: the input is in ${artifacts}. Minimise and keep it:"
    echo "  $BUILD_DIR/tests/fuzz/${target}_fuzzer -minimize_crash=1 -runs=20000 \\"
    echo "      -artifact_prefix=${artifacts}min- ${artifacts}<crash-file>"
    echo "  cp <minimised> tests/fuzz/$target/regressions/<what-it-found>"
  else
    SUMMARY+=("$line")
    tail -3 "$log"
  fi
done

echo
echo "== fuzz summary ($((SECONDS - START))s in all; corp: inputs/bytes of the working corpus)"
for line in "${SUMMARY[@]}"; do echo "   $line"; done
exit "$status"
