// Tests of the server-wide admission: limits, refusal messages, waiting streams
// served first come first served, withdrawal, the memory estimate.
#include "service/server/admission.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::FakeSpec;
using ::explainer::server::testing::PngBytes;
using ::explainer::testing::IsOk;
using ::testing::ElementsAre;

AdmissionOptions Limits(int items, int64_t bytes) {
  AdmissionOptions options;
  options.max_inflight_items = items;
  options.max_inflight_bytes = bytes;
  return options;
}

TEST(AdmissionTest, ItemLimitRefusesWithTheFlagName) {
  Admission admission(Limits(2, 1 << 20));
  absl::StatusOr<Admission::Ticket> a = admission.TryAdmit(10);
  absl::StatusOr<Admission::Ticket> b = admission.TryAdmit(10);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(admission.items_in_flight(), 2);
  EXPECT_EQ(admission.bytes_in_flight(), 20);
  absl::StatusOr<Admission::Ticket> c = admission.TryAdmit(10);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(c.status().message(),
            "server busy: 2 items in flight, limit 2 (--max_inflight_items)");
  a->Reset();  // an answer left: room again
  EXPECT_EQ(admission.items_in_flight(), 1);
  EXPECT_THAT(admission.TryAdmit(10), IsOk());
}

TEST(AdmissionTest, StreamLimitRefusesWithTheFlagName) {
  AdmissionOptions options = Limits(2, 1 << 20);
  options.max_streams = 2;
  Admission admission(options);
  EXPECT_THAT(admission.TryOpenStream(), IsOk());
  EXPECT_THAT(admission.TryOpenStream(), IsOk());
  const absl::Status third = admission.TryOpenStream();
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.message(), "server busy: 2 streams open, limit 2 (--max_streams)");
  admission.CloseStream();
  EXPECT_EQ(admission.open_streams(), 1);
  EXPECT_THAT(admission.TryOpenStream(), IsOk());

  Admission unlimited(Limits(2, 1 << 20));  // max_streams 0: no limit
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(unlimited.TryOpenStream().ok());
}

TEST(AdmissionTest, ByteLimitRefusesWithTheFlagName) {
  Admission admission(Limits(100, 1000));
  absl::StatusOr<Admission::Ticket> a = admission.TryAdmit(600);
  ASSERT_THAT(a, IsOk());
  absl::StatusOr<Admission::Ticket> b = admission.TryAdmit(500);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(b.status().message(),
            "server busy: 600 bytes in flight and this request needs 500 more, limit "
            "1000 bytes (--max_inflight_mb)");
  EXPECT_TRUE(admission.TryAdmit(400).ok());  // fits exactly
}

TEST(AdmissionTest, AnItemBiggerThanTheWholeBudgetGetsInAlone) {
  Admission admission(Limits(100, 1000));
  absl::StatusOr<Admission::Ticket> big = admission.TryAdmit(5000);
  ASSERT_THAT(big, IsOk());
  EXPECT_FALSE(admission.TryAdmit(1).ok());
}

TEST(AdmissionTest, WaitersAreServedFirstComeFirstServedAsRoomFrees) {
  Admission admission(Limits(1, 1 << 20));
  std::optional<Admission::Ticket> held = admission.AdmitOrWait(1, nullptr, nullptr);
  ASSERT_TRUE(held.has_value());
  std::vector<int> granted;
  std::vector<Admission::Ticket> tickets;
  tickets.reserve(8);  // callbacks append while a ticket in it is being reset
  uint64_t ids[3];
  for (int i = 0; i < 3; ++i) {
    std::optional<Admission::Ticket> now = admission.AdmitOrWait(
        1,
        [&, i](Admission::Ticket ticket) {
          granted.push_back(i);
          tickets.push_back(std::move(ticket));
        },
        &ids[i]);
    EXPECT_FALSE(now.has_value());
  }
  EXPECT_EQ(admission.waiting(), 3);
  // While streams wait, a unary call does not jump the queue.
  EXPECT_EQ(admission.TryAdmit(1).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(admission.CancelWait(ids[1]));   // a cancelled stream withdraws
  EXPECT_FALSE(admission.CancelWait(ids[1]));  // only once
  held->Reset();
  EXPECT_THAT(granted, ElementsAre(0));
  EXPECT_FALSE(admission.CancelWait(ids[0]));  // already granted
  tickets[0].Reset();
  EXPECT_THAT(granted, ElementsAre(0, 2));
  EXPECT_EQ(admission.waiting(), 0);
  tickets[1].Reset();
  EXPECT_EQ(admission.items_in_flight(), 0);
  EXPECT_EQ(admission.bytes_in_flight(), 0);
}

// Streams that have had fewer items admitted go first: a new stream is not queued
// behind one item of every busy stream.
TEST(AdmissionTest, LeastServedWaiterGoesFirst) {
  Admission admission(Limits(1, 1 << 20));
  std::optional<Admission::Ticket> held = admission.AdmitOrWait(1, nullptr, nullptr);
  ASSERT_TRUE(held.has_value());
  std::vector<std::string> granted;
  std::vector<Admission::Ticket> tickets;
  tickets.reserve(8);  // callbacks append while a ticket in it is being reset
  uint64_t id;
  for (const auto& [name, served] : std::vector<std::pair<std::string, int>>{
           {"busy-a", 7}, {"busy-b", 3}, {"new", 0}, {"busy-c", 3}}) {
    EXPECT_FALSE(admission
                     .AdmitOrWait(
                         1,
                         [&, name = name](Admission::Ticket ticket) {
                           granted.push_back(name);
                           tickets.push_back(std::move(ticket));
                         },
                         &id, served)
                     .has_value());
  }
  held->Reset();
  for (int i = 0; i < 3; ++i) tickets[i].Reset();
  EXPECT_THAT(granted, ElementsAre("new", "busy-b", "busy-c", "busy-a"));
}

TEST(AdmissionTest, MovedTicketReleasesOnce) {
  Admission admission(Limits(1, 100));
  absl::StatusOr<Admission::Ticket> a = admission.TryAdmit(10);
  ASSERT_THAT(a, IsOk());
  Admission::Ticket moved = std::move(*a);
  EXPECT_FALSE(a->valid());
  EXPECT_TRUE(moved.valid());
  a->Reset();  // no-op
  EXPECT_EQ(admission.items_in_flight(), 1);
  moved = Admission::Ticket();
  EXPECT_EQ(admission.items_in_flight(), 0);
}

TEST(AdmissionTest, EstimateCountsTheRequestAndTheDecodedPixels) {
  v1::ExplainRequest request;
  request.set_request_id("x");
  request.set_image(PngBytes(100, 50));
  const int64_t model = 16 * 16 * 4 * sizeof(float);
  EXPECT_EQ(EstimateItemBytes(request, FakeSpec(), 1 << 30),
            static_cast<int64_t>(request.ByteSizeLong()) + 100 * 50 * 3 + model);
  // The pixel part is capped at the pixel limit (the item fails over it anyway).
  EXPECT_EQ(EstimateItemBytes(request, FakeSpec(), 1000),
            static_cast<int64_t>(request.ByteSizeLong()) + 1000 * 3 + model);
  request.set_image("not an image");
  EXPECT_EQ(EstimateItemBytes(request, FakeSpec(), 1 << 30),
            static_cast<int64_t>(request.ByteSizeLong()) + model);
}

}  // namespace
}  // namespace explainer::server
