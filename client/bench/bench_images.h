// The images a bench run sends: a folder's files as they are, or generated
// radiograph-like JPEGs of a given size (deterministic for a seed, so other
// benchmarks can read the same bytes after --write-images).
#ifndef EXPLAINER_CLIENT_BENCH_BENCH_IMAGES_H_
#define EXPLAINER_CLIENT_BENCH_BENCH_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace explainer::client::bench {

struct BenchImage {
  std::string name;   // relative path, or "bench_0003.jpg" when generated
  std::string bytes;  // encoded image
};

// Every image of `dir` (recursively, as infer finds them), read into memory up to
// `max_bytes` each. Errors name the folder or the file.
absl::StatusOr<std::vector<BenchImage>> LoadFolderImages(const std::string& dir,
                                                         int64_t max_bytes);

// `count` JPEGs (quality 90, 3 channels) of width x height: a dark film with a
// brightness gradient, a bright bone-like bar, one or two soft blobs and noise.
absl::StatusOr<std::vector<BenchImage>> GenerateImages(int count, int width, int height,
                                                       uint64_t seed);

// Writes each image to dir/name (creating dir).
absl::Status WriteImages(const std::vector<BenchImage>& images, const std::string& dir);

}  // namespace explainer::client::bench

#endif  // EXPLAINER_CLIENT_BENCH_BENCH_IMAGES_H_
