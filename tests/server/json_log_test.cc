// --log_format=json: line format, escaping, severities, and the installed streams
// (in a child process, as it replaces std::cout's and std::cerr's buffers).
#include "service/server/json_log.h"

#include <iostream>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace explainer::server {
namespace {

TEST(JsonLogTest, LineIsOneJsonObjectWithoutTheProgramPrefix) {
  const absl::Time time = absl::FromUnixMillis(1767323045678);  // 2026-01-02T03:04:05.678Z
  const std::string line = JsonLogLine(time, "INFO", "explainer-server: serving model \"m\"");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["time"], "2026-01-02T03:04:05.678Z");
  EXPECT_EQ(parsed["severity"], "INFO");
  EXPECT_EQ(parsed["logger"], "explainer-server");
  EXPECT_EQ(parsed["message"], "serving model \"m\"");
}

TEST(JsonLogTest, ControlCharactersAndInvalidUtf8StayOneValidLine) {
  const std::string line =
      JsonLogLine(absl::UnixEpoch(), "ERROR", std::string("a\tb\\c\x01\n d \xff e", 13));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const nlohmann::json parsed = nlohmann::json::parse(line);  // throws on bad UTF-8
  EXPECT_EQ(parsed["message"], "a\tb\\c\x01\n d \\xff e");
}

TEST(JsonLogTest, Severities) {
  EXPECT_EQ(SeverityOf(true, "explainer-server: serving model"), "INFO");
  EXPECT_EQ(SeverityOf(false, "explainer-server: SIGTERM, shutting down"), "INFO");
  EXPECT_EQ(SeverityOf(false, "explainer-server: health SERVING again: work is finishing"),
            "INFO");
  EXPECT_EQ(SeverityOf(false, "explainer-server: health NOT_SERVING: nothing finished"),
            "WARNING");
  EXPECT_EQ(SeverityOf(false, "explainer-server: cannot load the model: x"), "ERROR");
  EXPECT_EQ(SeverityOf(false, "explainer-server: --threads must be at least 0"), "ERROR");
}

TEST(JsonLogDeathTest, InstalledStreamsWriteJsonLines) {
  EXPECT_EXIT(
      {
        InstallJsonLogging(/*grpc_errors=*/false);
        std::cerr << "explainer-server: part one";  // one line from several writes
        std::cerr << ", part two" << std::endl;
        std::cerr << "explainer-server: SIGTERM, shutting down" << std::endl;
        std::_Exit(3);
      },
      ::testing::ExitedWithCode(3),
      R"(\{"time":"[0-9T:.Z-]+","severity":"ERROR","logger":"explainer-server","message":"part one, part two"\}
\{"time":"[0-9T:.Z-]+","severity":"INFO","logger":"explainer-server","message":"SIGTERM, shutting down"\}
)");
}

}  // namespace
}  // namespace explainer::server
