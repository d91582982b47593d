// Tests of client/file_io: reads refuse anything but regular files without
// blocking, and errors name the file and the reason.
#include "client/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::TempDir;
using ::testing::HasSubstr;

TEST(ReadFileBytesTest, ReadsARegularFile) {
  TempDir dir;
  const std::string path = dir.Write("a.png", std::string("x\0y", 3));
  absl::StatusOr<std::string> bytes = ReadFileBytes(path, 100);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(*bytes, std::string("x\0y", 3));
}

TEST(ReadFileBytesTest, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string path = dir.Path("stream.jpg");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto read = std::async(std::launch::async, [&] { return ReadFileBytes(path, 1 << 20); });
  if (read.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    // Give the blocked open a writer so that the test can end, then fail.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    read.wait();
    FAIL() << "ReadFileBytes blocked on a FIFO";
  }
  const absl::StatusOr<std::string> bytes = read.get();
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.status().message(),
            "cannot read " + path + ": it is a FIFO, not a regular file");
}

TEST(ReadFileBytesTest, FolderAndDeviceAreNamed) {
  TempDir dir;
  dir.Write("sub/x", "x");
  EXPECT_EQ(ReadFileBytes(dir.Path("sub"), 100).status().message(),
            "cannot read " + dir.Path("sub") + ": it is a folder, not a regular file");
  EXPECT_EQ(ReadFileBytes("/dev/zero", 100).status().message(),
            "cannot read /dev/zero: it is a character device, not a regular file");
}

TEST(ReadFileBytesTest, MissingAndTooLargeFilesSayWhy) {
  TempDir dir;
  EXPECT_EQ(ReadFileBytes(dir.Path("gone.png"), 100).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(ReadFileBytes(dir.Path("gone.png"), 100).status().message(),
              HasSubstr("cannot read " + dir.Path("gone.png") + ": No such file"));
  const std::string big = dir.Write("big.png", std::string(1500, 'x'));
  const absl::Status status = ReadFileBytes(big, 1000).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), big + " is 1500 bytes, over the 1000-byte message limit (raise the "
                                    "client's --max-message-mb and the server's --max_message_mb)");
}

}  // namespace
}  // namespace explainer::client
