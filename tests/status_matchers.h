// gMock matchers for absl::Status and absl::StatusOr<T>, so that a failing check prints
// the status (code and message) instead of `false`:
//   EXPECT_THAT(ParseX(text), IsOk());
//   EXPECT_THAT(ParseX(bad), StatusIs(absl::StatusCode::kInvalidArgument,
//                                     HasSubstr("shapes[0]")));
//   EXPECT_THAT(CountX(text), IsOkAndHolds(3));
// As abseil's and tensorstore's test utilities spell them.
#ifndef EXPLAINER_TESTS_STATUS_MATCHERS_H_
#define EXPLAINER_TESTS_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace explainer::testing {
namespace status_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

class IsOkMatcher {
 public:
  template <typename StatusType>
  bool MatchAndExplain(const StatusType& value, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    *listener << "whose status is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename StatusType>
  bool MatchAndExplain(const StatusType& value, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    *listener << "whose status is " << status;
    return status.code() == code_ && message_.Matches(std::string(status.message()));
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has status code " << absl::StatusCodeToString(code_) << " and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "has a status code other than " << absl::StatusCodeToString(code_)
        << " or a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

template <typename T>
class IsOkAndHoldsMatcher : public ::testing::MatcherInterface<const absl::StatusOr<T>&> {
 public:
  explicit IsOkAndHoldsMatcher(::testing::Matcher<const T&> value) : value_(std::move(value)) {}

  bool MatchAndExplain(const absl::StatusOr<T>& value,
                       ::testing::MatchResultListener* listener) const override {
    if (!value.ok()) {
      *listener << "whose status is " << value.status();
      return false;
    }
    *listener << "whose value is " << ::testing::PrintToString(*value);
    return value_.Matches(*value);
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and holds a value that ";
    value_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "is not OK or holds a value that ";
    value_.DescribeNegationTo(os);
  }

 private:
  ::testing::Matcher<const T&> value_;
};

// IsOkAndHolds's value matcher, typed when it meets its StatusOr<T>.
template <typename InnerMatcher>
class IsOkAndHoldsGenerator {
 public:
  explicit IsOkAndHoldsGenerator(InnerMatcher inner) : inner_(std::move(inner)) {}
  template <typename T>
  operator ::testing::Matcher<const absl::StatusOr<T>&>() const {  // NOLINT: implicit
    return ::testing::MakeMatcher(
        new IsOkAndHoldsMatcher<T>(::testing::SafeMatcherCast<const T&>(inner_)));
  }

 private:
  InnerMatcher inner_;
};

}  // namespace status_internal

// An OK absl::Status, or an absl::StatusOr that holds a value.
inline ::testing::PolymorphicMatcher<status_internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(status_internal::IsOkMatcher());
}

// An absl::StatusOr<T> that holds a value `value` matches (a matcher or a value).
template <typename InnerMatcher>
status_internal::IsOkAndHoldsGenerator<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& value) {
  return status_internal::IsOkAndHoldsGenerator<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(value));
}

// A status (or StatusOr's status) with `code` and a message that `message` matches: a
// string (equality) or a matcher such as HasSubstr("...").
template <typename MessageMatcher>
::testing::PolymorphicMatcher<status_internal::StatusIsMatcher> StatusIs(
    absl::StatusCode code, MessageMatcher&& message) {
  return ::testing::MakePolymorphicMatcher(status_internal::StatusIsMatcher(
      code, ::testing::SafeMatcherCast<const std::string&>(
                std::forward<MessageMatcher>(message))));
}
inline ::testing::PolymorphicMatcher<status_internal::StatusIsMatcher> StatusIs(
    absl::StatusCode code) {
  return StatusIs(code, ::testing::_);
}

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_STATUS_MATCHERS_H_
