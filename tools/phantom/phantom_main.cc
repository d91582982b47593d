// explainer-phantom: writes a deterministic synthetic bone-tumour radiograph set in
// BTXRD's layout (images/, Annotations/, dataset.csv) for demos, tests and training.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tools/phantom/btxrd_csv.h"
#include "tools/phantom/labelme_writer.h"
#include "tools/phantom/phantom.h"

ABSL_FLAG(std::string, out, "", "Output folder; images/, Annotations/ and dataset.csv go here.");
ABSL_FLAG(int, count, 20, "Number of images.");
ABSL_FLAG(uint64_t, seed, 1, "Run seed. Same seed and id: byte-identical image and files.");
ABSL_FLAG(int, first_id, 1, "Id of the first image (IMG%06d).");
ABSL_FLAG(std::string, class_mix, "0.5,0.4,0.1",
          "Normal,Benign,Malignant weights, dealt exactly in every aligned block of ten ids.");
ABSL_FLAG(int, threads, 2, "Worker threads (the output does not depend on it).");
ABSL_FLAG(bool, twins, false,
          "Also write, for each tumour image, the same film without its lesions to "
          "twins/<image_id> (training pairs; not part of BTXRD's layout).");

namespace explainer::phantom {
namespace {

namespace fs = std::filesystem;

struct Options {
  fs::path out;
  int count = 0;
  uint64_t seed = 0;
  int first_id = 1;
  std::array<double, 3> mix{};
  int threads = 1;
  bool twins = false;
};

absl::Status ParseMix(const std::string& text, std::array<double, 3>* mix) {
  const std::vector<std::string> parts = absl::StrSplit(text, ',');
  const absl::Status bad = absl::InvalidArgumentError(absl::StrCat(
      "--class_mix must be three non-negative weights 'normal,benign,malignant' with a "
      "positive sum, got '",
      text, "'"));
  if (parts.size() != 3) return bad;
  double sum = 0;
  for (int i = 0; i < 3; ++i) {
    if (!absl::SimpleAtod(parts[i], &(*mix)[i]) || !((*mix)[i] >= 0)) return bad;
    sum += (*mix)[i];
  }
  return sum > 0 ? absl::OkStatus() : bad;
}

absl::Status Validate(Options* o) {
  o->out = absl::GetFlag(FLAGS_out);
  o->count = absl::GetFlag(FLAGS_count);
  o->seed = absl::GetFlag(FLAGS_seed);
  o->first_id = absl::GetFlag(FLAGS_first_id);
  o->threads = absl::GetFlag(FLAGS_threads);
  o->twins = absl::GetFlag(FLAGS_twins);
  if (o->out.empty()) {
    return absl::InvalidArgumentError(
        "--out is required: the folder to write images/, Annotations/ and dataset.csv into");
  }
  if (o->count < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--count must be at least 1, got ", o->count));
  }
  if (o->first_id < 1 || o->first_id > 999999 - (o->count - 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--first_id ", o->first_id, " with --count ",
                                                   o->count,
                                                   " leaves the id range 1..999999 of IMG%06d"));
  }
  if (o->threads < 1 || o->threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be between 1 and 256, got ", o->threads));
  }
  return ParseMix(absl::GetFlag(FLAGS_class_mix), &o->mix);
}

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::Status WriteJpeg(const fs::path& path, const cv::Mat& image, int quality) {
  try {
    if (!cv::imwrite(path.string(), image, {cv::IMWRITE_JPEG_QUALITY, quality})) {
      return absl::InternalError(absl::StrCat("cannot write ", path.string()));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot write ", path.string(), ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status WriteCase(const Options& o, const PhantomCase& c) {
  absl::Status s = WriteJpeg(o.out / "images" / c.record.image_id, c.image, c.jpeg_quality);
  if (s.ok() && !c.lesion_free.empty()) {
    s = WriteJpeg(o.out / "twins" / c.record.image_id, c.lesion_free, c.jpeg_quality);
  }
  if (!s.ok()) return s;
  if (c.lesions.empty()) return absl::OkStatus();  // Normal: no annotation, as in BTXRD
  return WriteText(o.out / "Annotations" / (c.stem + ".json"),
                   LabelMeJson(c.lesions, c.record.image_id, c.image.size()));
}

absl::Status Run(const Options& o) {
  std::error_code ec;
  for (const char* sub : {"images", "Annotations", "twins"}) {
    if (std::string(sub) == "twins" && !o.twins) continue;
    fs::create_directories(o.out / sub, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot create ", (o.out / sub).string(), ": ", ec.message()));
    }
  }
  cv::setNumThreads(1);  // parallelism comes from our workers

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> rows(o.count);
  std::vector<int> diagnoses(o.count);
  std::atomic<int> next{0};
  absl::Mutex mu;
  absl::Status first_error;  // guarded by mu
  auto work = [&] {
    for (int i = next++; i < o.count; i = next++) {
      const int id = o.first_id + i;
      const Diagnosis d = DiagnosisFor(o.seed, id, o.mix);
      const PhantomCase c = GenerateCase(o.seed, id, d, o.twins);
      const absl::Status s = WriteCase(o, c);
      rows[i] = BtxrdRow(c.record);
      diagnoses[i] = static_cast<int>(d);
      if (!s.ok()) {
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = s;
        next = o.count;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < std::min(o.threads, o.count); ++t) workers.emplace_back(work);
  for (std::thread& t : workers) t.join();
  if (!first_error.ok()) return first_error;

  std::string csv = absl::StrCat(kBtxrdHeader, "\n");
  for (const std::string& r : rows) absl::StrAppend(&csv, r, "\n");
  if (absl::Status s = WriteText(o.out / "dataset.csv", csv); !s.ok()) return s;

  int per_class[3] = {0, 0, 0};
  for (int d : diagnoses) ++per_class[d];
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "explainer-phantom: wrote %d images (%d Normal, %d Benign, %d Malignant), %d "
      "annotation files and dataset.csv to %s in %.1f s (%.1f images/s)\n",
      o.count, per_class[0], per_class[1], per_class[2], per_class[1] + per_class[2],
      o.out.string().c_str(), secs, o.count / std::max(secs, 1e-9));
  return absl::OkStatus();
}

}  // namespace
}  // namespace explainer::phantom

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes synthetic bone radiographs in BTXRD's layout.\n"
      "  explainer-phantom --out DIR [--count N] [--seed S] [--first_id K] "
      "[--class_mix 0.5,0.4,0.1] [--threads T] [--twins]");
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr, "explainer-phantom: unexpected argument '%s' (all options are --flags)\n",
                 rest[1]);
    return 2;
  }
  explainer::phantom::Options options;
  if (absl::Status s = explainer::phantom::Validate(&options); !s.ok()) {
    std::fprintf(stderr, "explainer-phantom: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (absl::Status s = explainer::phantom::Run(options); !s.ok()) {
    std::fprintf(stderr, "explainer-phantom: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
