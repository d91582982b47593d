// ParseDevice: accepted spellings and the message for the rest.
#include "service/engine/device.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::engine {
namespace {

using ::explainer::testing::IsOk;
using ::testing::HasSubstr;

TEST(DeviceTest, AcceptsCpuCudaAndOrdinals) {
  absl::StatusOr<DeviceChoice> cpu = ParseDevice("cpu");
  ASSERT_THAT(cpu, IsOk());
  EXPECT_FALSE(cpu->cuda);
  EXPECT_EQ(cpu->canonical, "cpu");
  absl::StatusOr<DeviceChoice> cuda = ParseDevice("cuda");
  ASSERT_THAT(cuda, IsOk());
  EXPECT_TRUE(cuda->cuda);
  EXPECT_EQ(cuda->index, 0);
  EXPECT_EQ(cuda->canonical, "cuda:0");
  absl::StatusOr<DeviceChoice> third = ParseDevice("cuda:3");
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->index, 3);
  EXPECT_EQ(third->canonical, "cuda:3");
}

TEST(DeviceTest, RejectsEverythingElseNamingIt) {
  for (const char* bad : {"", "tpu", "CPU", "cuda:", "cuda:+1", "cuda: 1", "cuda:1x", "cuda:-1",
                          "cuda:99999", "mps"}) {
    absl::StatusOr<DeviceChoice> choice = ParseDevice(bad);
    EXPECT_EQ(choice.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(choice.status().message(),
                HasSubstr(std::string("unknown device \"") + bad +
                          "\": expected \"cpu\", \"cuda\" or \"cuda:N\""));
  }
}

}  // namespace
}  // namespace explainer::engine
