// Study pull over DICOM C-GET with DCMTK's DcmSCU (see dicom_pacs.h).
#include "client/dicom_pacs.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dcmtk/config/osconfig.h"  // must come first of the DCMTK headers
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/oflog/oflog.h"

namespace explainer::client {
namespace {

namespace fs = std::filesystem;

// The image classes a radiograph arrives in, and every syntax common/dicom_decode
// reads: each compressed one in a context of its own, so the PACS need not transcode.
const char* const kImageClasses[] = {
    UID_ComputedRadiographyImageStorage, UID_DigitalXRayImageStorageForPresentation,
    UID_DigitalXRayImageStorageForProcessing, UID_SecondaryCaptureImageStorage};
const std::vector<std::vector<const char*>> kSyntaxGroups = {
    {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax},
    {UID_DeflatedExplicitVRLittleEndianTransferSyntax},
    {UID_JPEGProcess1TransferSyntax},
    {UID_JPEGProcess2_4TransferSyntax},
    {UID_JPEGProcess14TransferSyntax},
    {UID_JPEGProcess14SV1TransferSyntax},
    {UID_JPEGLSLosslessTransferSyntax},
    {UID_JPEGLSLossyTransferSyntax},
    {UID_RLELosslessTransferSyntax},
};

// Reports a study usually holds besides its images (Explainer's SRs among them):
// accepted so that the PACS can send the whole study, then dropped.
const char* const kReportClasses[] = {UID_BasicTextSRStorage, UID_EnhancedSRStorage,
                                      UID_ComprehensiveSRStorage,
                                      UID_KeyObjectSelectionDocumentStorage};

bool IsImageClass(absl::string_view sop_class) {
  return std::find_if(std::begin(kImageClasses), std::end(kImageClasses), [&](const char* c) {
           return sop_class == c;
         }) != std::end(kImageClasses);
}

// Series Explainer writes (common/dicom_results.cc): its overlays are not inputs.
constexpr absl::string_view kOwnSeries = "Explainer Grad-CAM";

bool ValidAet(absl::string_view aet) {
  if (aet.empty() || aet.size() > 16) return false;
  for (const char c : aet) {
    if (c < 0x20 || c > 0x7E || c == '\\') return false;
  }
  return true;
}

bool ValidUid(absl::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (const char c : uid) {
    if (!absl::ascii_isdigit(c) && c != '.') return false;
  }
  return true;
}

// Takes each C-STORE of the C-GET and writes it as received (its transfer syntax).
class StudyReceiver : public DcmSCU {
 public:
  explicit StudyReceiver(fs::path folder) : folder_(std::move(folder)) {}

  struct Received {
    std::string sop_instance_uid;
    fs::path path;
  };
  std::vector<Received>& received() { return received_; }
  int own_outputs() const { return own_outputs_; }
  int reports() const { return reports_; }
  const std::string& write_error() const { return write_error_; }

 protected:
  OFCondition handleSTORERequest(const T_ASC_PresentationContextID /*presID*/,
                                 DcmDataset* incoming, OFBool& continue_session,
                                 Uint16& store_status) override {
    std::unique_ptr<DcmDataset> dataset(incoming);  // ours to delete
    continue_session = OFTrue;
    store_status = STATUS_Success;
    if (dataset == nullptr) return EC_IllegalParameter;
    OFString uid, series, sop_class;
    dataset->findAndGetOFString(DCM_SOPInstanceUID, uid);
    dataset->findAndGetOFString(DCM_SeriesDescription, series);
    dataset->findAndGetOFString(DCM_SOPClassUID, sop_class);
    if (!IsImageClass(sop_class.c_str())) {
      ++reports_;
      return EC_Normal;
    }
    if (absl::StartsWith(series.c_str(), kOwnSeries)) {
      ++own_outputs_;
      return EC_Normal;
    }
    const E_TransferSyntax syntax = dataset->getOriginalXfer();
    DcmFileFormat file(dataset.get());
    const fs::path path = folder_ / absl::StrFormat("recv_%06d.dcm", received_.size());
    const OFCondition saved = file.saveFile(path.c_str(), syntax);
    if (saved.bad()) {
      store_status = STATUS_STORE_Refused_OutOfResources;
      write_error_ = absl::StrCat("cannot write ", path.string(), ": ", saved.text());
      continue_session = OFFalse;
      return saved;
    }
    received_.push_back({uid.c_str(), path});
    return EC_Normal;
  }

 private:
  const fs::path folder_;
  std::vector<Received> received_;
  int own_outputs_ = 0;
  int reports_ = 0;
  std::string write_error_;
};

// Removes what an earlier pull left (image_*.dcm, recv_*.dcm): the folder holds only
// this pull's images.
absl::Status PrepareFolder(const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec || !fs::is_directory(folder)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--input-pacs: cannot create ", folder.string(), ": ",
        ec ? ec.message() : "a file of that name exists"));
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if ((absl::StartsWith(name, "image_") || absl::StartsWith(name, "recv_")) &&
        absl::EndsWith(name, ".dcm")) {
      fs::remove(entry.path(), ec);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PacsSource> ParsePacsFlags(absl::string_view input_pacs,
                                          absl::string_view studies,
                                          absl::string_view calling_aet) {
  PacsSource source;
  const size_t at = input_pacs.find('@');
  const size_t colon = input_pacs.rfind(':');
  int port = 0;
  if (at == absl::string_view::npos || colon == absl::string_view::npos || colon < at ||
      !ValidAet(input_pacs.substr(0, at)) || colon == at + 1 ||
      !absl::SimpleAtoi(input_pacs.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--input-pacs: \"", input_pacs,
        "\" is not AET@HOST:PORT (the PACS's AE title, 1 to 16 characters, its host and DICOM "
        "port), e.g. ORTHANC@127.0.0.1:4242"));
  }
  source.called_aet = std::string(input_pacs.substr(0, at));
  source.host = std::string(input_pacs.substr(at + 1, colon - at - 1));
  source.port = port;
  if (!calling_aet.empty()) {
    if (!ValidAet(calling_aet)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--pacs-aet: \"", calling_aet, "\" is not an AE title (1 to 16 printable characters)"));
    }
    source.calling_aet = std::string(calling_aet);
  }
  for (absl::string_view uid : absl::StrSplit(studies, ',', absl::SkipWhitespace())) {
    uid = absl::StripAsciiWhitespace(uid);
    if (!ValidUid(uid)) {
      // The value is the caller's own; it is not echoed (a UID identifies a study).
      return absl::InvalidArgumentError(absl::StrCat(
          "--pacs-study: entry ", source.study_uids.size() + 1,
          " is not a Study Instance UID (digits and dots, at most 64 characters)"));
    }
    source.study_uids.emplace_back(uid);
  }
  if (source.study_uids.empty()) {
    return absl::InvalidArgumentError(
        "--pacs-study: missing; --input-pacs pulls the studies listed there (UID[,UID...])");
  }
  return source;
}

std::string DescribePull(const PacsPull& pull) {
  std::vector<std::string> notes;
  if (pull.own_outputs > 0) {
    notes.push_back(absl::StrCat(pull.own_outputs, " Explainer overlay(s) not pulled again"));
  }
  if (pull.reports > 0) notes.push_back(absl::StrCat(pull.reports, " report(s) left out"));
  if (pull.failed > 0) {
    notes.push_back(absl::StrCat(pull.failed,
                                 " object(s) the PACS did not send (other classes, or refused)"));
  }
  return absl::StrCat(pull.images, " radiograph(s) pulled from the PACS into ", pull.folder,
                      notes.empty() ? "" : absl::StrCat(" (", absl::StrJoin(notes, "; "), ")"));
}

absl::StatusOr<PacsPull> PullStudies(const PacsSource& source, const std::string& folder) {
  OFLog::configure(OFLogger::OFF_LOG_LEVEL);  // its messages may quote header values
  if (absl::Status prepared = PrepareFolder(folder); !prepared.ok()) return prepared;
  const std::string peer = absl::StrCat(source.called_aet, "@", source.host, ":", source.port);
  StudyReceiver scu{fs::path(folder)};
  scu.setAETitle(source.calling_aet.c_str());
  scu.setPeerAETitle(source.called_aet.c_str());
  scu.setPeerHostName(source.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(source.port));
  const auto seconds = static_cast<Uint32>(std::max<int64_t>(1, absl::ToInt64Seconds(source.timeout)));
  scu.setConnectionTimeout(static_cast<Sint32>(seconds));
  scu.setACSETimeout(seconds);
  scu.setDIMSETimeout(seconds);
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  OFList<OFString> uncompressed;
  uncompressed.push_back(UID_LittleEndianExplicitTransferSyntax);
  uncompressed.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_GETStudyRootQueryRetrieveInformationModel, uncompressed);
  for (const char* image_class : kImageClasses) {
    for (const std::vector<const char*>& group : kSyntaxGroups) {
      OFList<OFString> syntaxes;
      for (const char* syntax : group) syntaxes.push_back(syntax);
      scu.addPresentationContext(image_class, syntaxes, ASC_SC_ROLE_SCP);
    }
  }
  for (const char* report_class : kReportClasses) {
    scu.addPresentationContext(report_class, uncompressed, ASC_SC_ROLE_SCP);
  }
  OFCondition cond = scu.initNetwork();
  if (cond.good()) cond = scu.negotiateAssociation();
  if (cond.bad()) {
    return absl::UnavailableError(absl::StrCat("--input-pacs: no association with ", peer,
                                               " as ", source.calling_aet, ": ", cond.text()));
  }
  const T_ASC_PresentationContextID get_context =
      scu.findPresentationContextID(UID_GETStudyRootQueryRetrieveInformationModel, "");
  if (get_context == 0) {
    scu.releaseAssociation();
    return absl::UnavailableError(absl::StrCat(
        "--input-pacs: ", peer, " does not offer C-GET (Study Root Query/Retrieve)"));
  }
  PacsPull pull;
  pull.folder = folder;
  for (size_t i = 0; i < source.study_uids.size(); ++i) {
    DcmDataset keys;
    keys.putAndInsertOFStringArray(DCM_QueryRetrieveLevel, "STUDY");
    keys.putAndInsertOFStringArray(DCM_StudyInstanceUID, source.study_uids[i].c_str());
    OFList<RetrieveResponse*> responses;
    cond = scu.sendCGETRequest(get_context, &keys, &responses);
    Uint16 status = STATUS_Success;
    int failed = 0;  // the final response counts them all
    int completed = 0;
    for (RetrieveResponse* response : responses) {
      failed = std::max<int>(failed, response->m_numberOfFailedSubops);
      completed = std::max<int>(completed, response->m_numberOfCompletedSubops);
      status = response->m_status;
      delete response;
    }
    pull.failed += failed;
    if (!scu.write_error().empty()) {
      scu.releaseAssociation();
      return absl::FailedPreconditionError(absl::StrCat("--input-pacs: ", scu.write_error()));
    }
    if (cond.bad()) {
      scu.releaseAssociation();
      return absl::UnavailableError(absl::StrFormat(
          "--input-pacs: C-GET of study %d of %d from %s failed: %s (a PACS aborts when it "
          "does not let AE title %s retrieve: add it to the PACS's known modalities)",
          i + 1, source.study_uids.size(), peer, cond.text(), source.calling_aet));
    }
    // A failure status with objects sent is a partial answer (some could not be sent).
    if (status != STATUS_Success && (status & 0xf000) != 0xb000 && completed == 0) {
      scu.releaseAssociation();
      return absl::NotFoundError(absl::StrFormat(
          "--input-pacs: study %d of %d: %s sent nothing (C-GET status 0x%04x: it does not "
          "hold the study, or may not send it to %s)",
          i + 1, source.study_uids.size(), peer, status, source.calling_aet));
    }
  }
  scu.releaseAssociation();

  // Named by position in SOP Instance UID order: the same studies give the same names.
  std::vector<StudyReceiver::Received>& received = scu.received();
  std::sort(received.begin(), received.end(), [](const auto& a, const auto& b) {
    return a.sop_instance_uid < b.sop_instance_uid;
  });
  for (size_t i = 0; i < received.size(); ++i) {
    std::error_code ec;
    fs::rename(received[i].path, fs::path(folder) / absl::StrFormat("image_%04d.dcm", i + 1), ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("--input-pacs: cannot rename in ", folder, ": ", ec.message()));
    }
  }
  pull.images = static_cast<int>(received.size());
  pull.own_outputs = scu.own_outputs();
  pull.reports = scu.reports();
  if (pull.images == 0) {
    return absl::NotFoundError(absl::StrCat(
        "--input-pacs: the ", source.study_uids.size(), " stud",
        source.study_uids.size() == 1 ? "y holds" : "ies hold",
        " no radiograph (CR, DX or Secondary Capture) on ", peer));
  }
  return pull;
}

}  // namespace explainer::client
