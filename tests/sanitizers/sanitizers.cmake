# Sanitizer and fuzzing builds, included by the top-level CMakeLists.txt before any
# target is defined so that every target of the tree is instrumented alike.
#
#   -DEXPLAINER_SANITIZE=address,undefined   (or thread; scripts/sanitize.sh)
#       gcc or clang: -fsanitize=<list>, frame pointers, and no recovery, so the first
#       report ends the test (with halt_on_error in *SAN_OPTIONS, see the script).
#   -DEXPLAINER_FUZZ=ON   (clang only; scripts/fuzz.sh)
#       coverage for libFuzzer plus ASan + UBSan on everything; tests/fuzz then adds
#       the <name>_fuzzer binaries, linked with -fsanitize=fuzzer.
set(EXPLAINER_SANITIZE "" CACHE STRING
    "Comma-separated -fsanitize= list for the whole tree (address,undefined or thread)")
option(EXPLAINER_FUZZ "Build the libFuzzer targets in tests/fuzz (clang)" OFF)

set(_explainer_sanitize "${EXPLAINER_SANITIZE}")
if(EXPLAINER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EXPLAINER_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-14)")
  endif()
  if(_explainer_sanitize STREQUAL "")
    set(_explainer_sanitize "address,undefined")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(NOT _explainer_sanitize STREQUAL "")
  message(STATUS "Explainer: -fsanitize=${_explainer_sanitize}")
  add_compile_options(-fsanitize=${_explainer_sanitize} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${_explainer_sanitize} -fno-sanitize-recover=all)
endif()
