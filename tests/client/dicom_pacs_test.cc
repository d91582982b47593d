// --input-pacs flags and the C-GET pull's own errors (the pull from a real Orthanc is
// tests/e2e/dicom_pacs_e2e_test.py).
#include "client/dicom_pacs.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::StatusIs;
using ::explainer::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PacsFlagsTest, AcceptedForm) {
  absl::StatusOr<PacsSource> source =
      ParsePacsFlags("ORTHANC@pacs.example:4242", " 1.2.3 , 1.2.4", "");
  ASSERT_THAT(source, IsOk());
  EXPECT_EQ(source->called_aet, "ORTHANC");
  EXPECT_EQ(source->host, "pacs.example");
  EXPECT_EQ(source->port, 4242);
  EXPECT_EQ(source->calling_aet, "EXPLAINER");
  EXPECT_THAT(source->study_uids, ElementsAre("1.2.3", "1.2.4"));
  source = ParsePacsFlags("A@[::1]:104", "1.2", "MYAET");
  ASSERT_THAT(source, IsOk());
  EXPECT_EQ(source->host, "[::1]");
  EXPECT_EQ(source->calling_aet, "MYAET");
}

TEST(PacsFlagsTest, BadFormsAreNamed) {
  for (const char* bad : {"127.0.0.1:4242", "ORTHANC@127.0.0.1", "ORTHANC@:4242",
                          "ORTHANC@127.0.0.1:0", "ORTHANC@127.0.0.1:x",
                          "AN_AE_TITLE_OVER_16@h:1"}) {
    absl::StatusOr<PacsSource> source = ParsePacsFlags(bad, "1.2.3", "");
    ASSERT_FALSE(source.ok()) << bad;
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(source.status().message(),
                HasSubstr(std::string("--input-pacs: \"") + bad + "\" is not AET@HOST:PORT"));
  }
  EXPECT_EQ(ParsePacsFlags("A@h:1", "", "").status().message(),
            "--pacs-study: missing; --input-pacs pulls the studies listed there (UID[,UID...])");
  // The UID is the caller's; the message counts entries instead of echoing them.
  EXPECT_EQ(ParsePacsFlags("A@h:1", "1.2.3,PATIENT-7", "").status().message(),
            "--pacs-study: entry 2 is not a Study Instance UID (digits and dots, at most 64 "
            "characters)");
  EXPECT_THAT(ParsePacsFlags("A@h:1", "1.2", "WAY_TOO_LONG_AE_TITLE").status().message(),
              HasSubstr("--pacs-aet: \"WAY_TOO_LONG_AE_TITLE\" is not an AE title"));
}

TEST(PullStudiesTest, UnreachablePacsIsUnavailableAndNamesThePeerNotTheStudy) {
  // A port that was just bound and released: nothing listens there.
  int port = 0;
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    close(fd);
  }
  TempDir dir;
  PacsSource source;
  source.called_aet = "NOBODY";
  source.host = "127.0.0.1";
  source.port = port;
  source.study_uids = {"1.2.826.0.1.3680043.10.1188.5"};
  source.timeout = absl::Seconds(5);
  absl::StatusOr<PacsPull> pull = PullStudies(source, dir.Path("pacs_input"));
  ASSERT_THAT(pull,
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("--input-pacs: no association with NOBODY@127.0.0.1:",
                                              port, " as EXPLAINER"))));
  EXPECT_THAT(pull.status().message(), ::testing::Not(HasSubstr("1.2.826")));
}

TEST(PullStudiesTest, DescribeNamesCountsOnly) {
  PacsPull pull;
  pull.folder = "out/pacs_input";
  pull.images = 3;
  EXPECT_EQ(DescribePull(pull), "3 radiograph(s) pulled from the PACS into out/pacs_input");
  pull.own_outputs = 2;
  pull.reports = 1;
  pull.failed = 4;
  EXPECT_EQ(DescribePull(pull),
            "3 radiograph(s) pulled from the PACS into out/pacs_input (2 Explainer overlay(s) "
            "not pulled again; 1 report(s) left out; 4 object(s) the PACS did not send (other "
            "classes, or refused))");
}

}  // namespace
}  // namespace explainer::client
