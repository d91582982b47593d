// Replays a fuzz target's committed inputs as an ordinary test, for the normal
// (non-fuzzing) builds: every file of tests/fuzz/<target>/corpus and
// tests/fuzz/<target>/regressions goes through LLVMFuzzerTestOneInput once. A crash,
// sanitizer report or failed contract check (the targets abort) fails the test.
//
// Usage: <target>_fuzz_replay CORPUS_DIR [DIR_OR_FILE...]. Relative paths are taken
// from the repository root (tests/test_paths.h), so the same arguments work under
// ctest, under `bazel test` (runfiles) and by hand. Every folder named must exist
// and at least one input must run: a replay of nothing would pass silently.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "tests/test_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// Files under `path` (or `path` itself), sorted so that runs are reproducible.
// README files document a folder and are not inputs.
std::vector<fs::path> InputsUnder(const fs::path& path) {
  std::vector<fs::path> files;
  std::error_code error;
  if (fs::is_regular_file(path, error)) return {path};
  for (fs::recursive_directory_iterator it(path, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file(error) && name != "README.md" && name[0] != '.') {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool ReadFile(const fs::path& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [DIR_OR_FILE...]\n", argv[0]);
    return 2;
  }
  int count = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i < argc; ++i) {
    fs::path root(argv[i]);
    if (root.is_relative()) root = explainer::testing::SourcePath(argv[i]);
    std::error_code error;
    if (!fs::exists(root, error)) {
      std::fprintf(stderr, "replay: %s not found\n", root.c_str());
      return 1;
    }
    for (const fs::path& file : InputsUnder(root)) {
      std::string bytes;
      if (!ReadFile(file, &bytes)) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return 1;
      }
      // Printed before the run, so that a crash names its input.
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
      ++count;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("replay: %d inputs in %.2f s, no crash\n", count, seconds);
  if (count == 0) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  return 0;
}
