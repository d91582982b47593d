// Flag spelling, help detection and usage text; see command_line.h.
#include "client/command_line.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace explainer::client {
namespace {

constexpr absl::string_view kHeader =
    "explainer: client of the Explainer service (bone-tumour radiograph classifier\n"
    "with Grad-CAM). Talks to a running explainer-server over gRPC.\n"
    "\n"
    "Usage:\n"
    "  explainer infer --server ADDR (--image FILE | --input-dir DIR) --out DIR [flags]\n"
    "  explainer info  --server ADDR [flags]\n"
    "  explainer gallery --server ADDR --input-dir DIR --labels FILE_OR_DIR --out DIR [flags]\n"
    "  explainer bench --server ADDR [--input-dir DIR | --image-size WxH] [flags]\n"
    "  explainer help  [COMMAND]\n"
    "Flags are written --name=value or --name value; --input-dir and --input_dir are\n"
    "the same flag.\n";

constexpr absl::string_view kInferUsage =
    "\n"
    "explainer infer: prediction, Grad-CAM overlay and annotation IoU for one image or\n"
    "every image of a folder, over one stream.\n"
    "  --image FILE            one image, or\n"
    "  --input-dir DIR         a folder, walked recursively for .jpg .jpeg .png .bmp\n"
    "                          .tif .tiff .webp (any case), in sorted order, or\n"
    "  --input-pacs AET@HOST:PORT  a PACS: the radiographs of the --pacs-study UID[,UID]\n"
    "                          studies, pulled by C-GET into <out>/pacs_input as\n"
    "                          AE title --pacs-aet (default EXPLAINER)\n"
    "  --annotations-dir DIR   LabelMe files <stem>.json (in the image's sub-folder or\n"
    "                          flat); paired images get an annotation report\n"
    "  --out DIR               output folder, created; sub-folders of --input-dir are\n"
    "                          mirrored. Not --input-dir itself; skipped when inside it\n"
    "  --method NAME           CAM method (default grad-cam): grad-cam, hires-cam,\n"
    "                          grad-cam++, xgrad-cam, layer-cam, eigen-cam,\n"
    "                          eigen-grad-cam, grad-cam-elementwise, score-cam,\n"
    "                          ablation-cam (costs: explainer info)\n"
    "  --aug-smooth            pytorch-grad-cam aug_smooth: flips x 0.9/1/1.1 (6 passes)\n"
    "  --eigen-smooth          pytorch-grad-cam eigen_smooth (principal component)\n"
    "  --faithfulness LIST     cam-multiply, road: pytorch-grad-cam's metrics of the\n"
    "                          heatmap, written to results.jsonl (extra forwards)\n"
    "  --road-percentiles LIST ROAD's percentiles, each in (0, 100) (default\n"
    "                          10,20,...,90: one forward pair per percentile)\n"
    "  --road-seed N           seed of ROAD's imputation noise (default 0)\n"
    "  --target-class N|NAME   explain this class (index or name) instead of the\n"
    "                          predicted one\n"
    "  --thresholds LIST       heatmap thresholds of the IoU (default 0.3,0.5,0.7)\n"
    "  --heatmap               also write <stem>_heatmap.png (8-bit, model resolution)\n"
    "  --save-cam              also write <stem>_cam.npy (float32, model resolution)\n"
    "  --image-weight W        weight of the image in the overlay, 0..1 (default 0.5)\n"
    "  --overlay WHO           client (default): the server sends its float32 heatmap\n"
    "                          and the client renders the same overlay; server: the\n"
    "                          server renders it and sends the PNG\n"
    "  --png-compression N     overlay PNG compression: -1 fast (default), 0..9 zlib\n"
    "  --window N              requests in flight on the stream (default 16)\n"
    "  --dicom-out DIR         for DICOM inputs (found by content, any name): write\n"
    "                          <stem>_overlay.dcm (Secondary Capture) and <stem>_sr.dcm\n"
    "                          (Comprehensive SR) in the source's study\n"
    "  --dicom-uid-root ROOT   UID root of those objects (default: DCMTK's)\n"
    "  --dicom-voi CHOICE      VOI of DICOM inputs: file (default), minmax, window:N,\n"
    "                          lut:N (N from 1) or CENTER,WIDTH\n"
    "  Writes <stem>_overlay.png (original resolution) per image, results.jsonl (one\n"
    "  JSON line per image, errors included) and prints a summary. A progress bar\n"
    "  goes to stderr when it is a terminal. Not sent, reported per image: files\n"
    "  that are not regular (FIFOs, devices), links that leave --input-dir, requests\n"
    "  over --max-message-mb.\n";

constexpr absl::string_view kInfoUsage =
    "\n"
    "explainer info: the server's model (name, version, classes, input size,\n"
    "mean/std, device, Grad-CAM layer, methods, limits).\n";

constexpr absl::string_view kConnectionUsage =
    "\n"
    "Connection flags (every command):\n"
    "  --server ADDR           server address host:port (default 127.0.0.1:50051)\n"
    "  --connect-timeout D     how long to wait for the server (default 10s)\n"
    "  --deadline D            info: the call's deadline; infer: each image must be\n"
    "                          answered within D of being sent, and the stream end\n"
    "                          within D of the last answer (default 60s)\n"
    "  --max-message-mb N      largest message sent or received, MB (default 64;\n"
    "                          keep it equal to the server's)\n"
    "  --tls                   TLS, trusting the system's root certificates\n"
    "  --tls-ca FILE           TLS, trusting the CA certificate(s) in FILE (PEM)\n"
    "  --tls-cert FILE --tls-key FILE  client certificate and key (mutual TLS)\n"
    "  --tls-server-name NAME  name to check the server's certificate against\n"
    "  --token-file FILE       bearer token for servers with --auth_tokens\n"
    "                          (default: $EXPLAINER_TOKEN)\n"
    "\n"
    "Exit status: 0 done (infer: at least one image succeeded); 1 every image failed\n"
    "or nothing to do; 2 bad command line; 3 server unreachable, too slow, or the\n"
    "call failed (answers received before are kept).\n";

bool IsHelpFlag(const std::string& arg) {
  return arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpshort";
}

}  // namespace

std::vector<std::string> NormalizeFlagSpelling(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (i == 0 || flags_ended || arg.size() < 2 || arg[0] != '-') {
      out.push_back(std::move(arg));
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      out.push_back(std::move(arg));
      continue;
    }
    const size_t name_start = arg[1] == '-' ? 2 : 1;
    const size_t name_end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + name_start, arg.begin() + name_end, '-', '_');
    out.push_back(std::move(arg));
  }
  return out;
}

bool RemoveHelpFlags(std::vector<std::string>& args) {
  bool found = false;
  std::vector<std::string> kept;
  bool flags_ended = false;
  for (std::string& arg : args) {
    if (arg == "--") flags_ended = true;
    if (!flags_ended && IsHelpFlag(arg)) {
      found = true;
      continue;
    }
    kept.push_back(std::move(arg));
  }
  args = std::move(kept);
  return found;
}

absl::Status CheckFlags(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // a subcommand or a value
    const absl::string_view body = absl::string_view(arg).substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name(body.substr(0, equals));
    const std::string shown = "--" + absl::StrReplaceAll(name, {{"_", "-"}});
    // Abseil's own flags (--helpfull, --version, --flagfile, ...) are left to it.
    static constexpr absl::string_view kAbseilFlags[] = {
        "helpfull",        "helpshort", "helppackage", "helpmatch",  "helpon", "version",
        "only_check_args", "flagfile",  "fromenv",     "tryfromenv", "undefok"};
    if (std::find(std::begin(kAbseilFlags), std::end(kAbseilFlags), name) !=
        std::end(kAbseilFlags)) {
      if (equals == absl::string_view::npos && name != "helpfull" && name != "helpshort" &&
          name != "helppackage" && name != "version" && name != "only_check_args") {
        ++i;  // --flagfile FILE: skip the value
      }
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") && equals == absl::string_view::npos) {
      // --noheatmap: the negated form of a bool flag.
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) continue;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(shown, ": unknown flag"));
    }
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(body.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(shown, ": missing value"));
    }
    // Parsing here sets the flag; Abseil sets it again to the same value.
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat(shown, ": bad value '", value, "' (", error, ")"));
    }
  }
  return absl::OkStatus();
}

const std::vector<std::string>& CommandNames() {
  static const auto* names = new std::vector<std::string>{"infer", "info", "gallery", "bench", "help"};
  return *names;
}

std::string UsageText(absl::string_view command) {
  if (command == "infer") return absl::StrCat(kHeader, kInferUsage, kConnectionUsage);
  if (command == "info") return absl::StrCat(kHeader, kInfoUsage, kConnectionUsage);
  return absl::StrCat(kHeader, kInferUsage, kInfoUsage, kConnectionUsage);
}

}  // namespace explainer::client
