// Early return for absl::Status / absl::StatusOr, and the one way to add context to an
// error: Annotate(status, context...) keeps the code (and payloads) and puts
// "<context>: " in front of the message. The macros take the same context as optional
// trailing arguments, evaluated only on the error path (as tensorstore's
// TENSORSTORE_RETURN_IF_ERROR(expr, annotate)); a builder such as `.With(...)` could not
// follow ASSIGN_OR_RETURN's assignment, so both macros take context the same way:
//   EXPLAINER_RETURN_IF_ERROR(CheckShape(shape), "shapes[", i, "]");
//   EXPLAINER_ASSIGN_OR_RETURN(auto engine, load(), "cannot load the model");
// Prefixed, so they cannot collide with a dependency's RETURN_IF_ERROR.
#ifndef EXPLAINER_COMMON_STATUS_MACROS_H_
#define EXPLAINER_COMMON_STATUS_MACROS_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace explainer::common {

// `status` with "<StrCat(context...)>: " before its message, same code and payloads; OK
// and an empty context leave it as it is.
template <typename... Context>
absl::Status Annotate(const absl::Status& status, const Context&... context) {
  if (status.ok() || sizeof...(context) == 0) return status;
  const std::string prefix = absl::StrCat(context...);
  if (prefix.empty()) return status;
  absl::Status annotated(status.code(), absl::StrCat(prefix, ": ", status.message()));
  status.ForEachPayload([&annotated](absl::string_view url, const absl::Cord& payload) {
    annotated.SetPayload(url, payload);
  });
  return annotated;
}

}  // namespace explainer::common

#define EXPLAINER_STATUS_CONCAT_INNER_(a, b) a##b
#define EXPLAINER_STATUS_CONCAT_(a, b) EXPLAINER_STATUS_CONCAT_INNER_(a, b)

// EXPLAINER_RETURN_IF_ERROR(expr[, context...]): returns the status of `expr`, annotated
// with the context, when it is not OK.
#define EXPLAINER_RETURN_IF_ERROR(expr, ...)                                          \
  do {                                                                                \
    const ::absl::Status explainer_status_ = (expr);                                  \
    if (!explainer_status_.ok()) {                                                    \
      return ::explainer::common::Annotate(explainer_status_ __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                                 \
  } while (0)

// EXPLAINER_ASSIGN_OR_RETURN(lhs, expr[, context...]): `lhs = *expr`, or returns its
// error status annotated with the context. `lhs` may declare (`auto x`, `const T& y`).
#define EXPLAINER_ASSIGN_OR_RETURN(lhs, expr, ...)                                   \
  EXPLAINER_ASSIGN_OR_RETURN_IMPL_(EXPLAINER_STATUS_CONCAT_(explainer_statusor_, __LINE__), \
                                   lhs, expr __VA_OPT__(, ) __VA_ARGS__)

#define EXPLAINER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr, ...)                      \
  auto statusor = (expr);                                                               \
  if (!statusor.ok()) {                                                                 \
    return ::explainer::common::Annotate(statusor.status() __VA_OPT__(, ) __VA_ARGS__); \
  }                                                                                     \
  lhs = std::move(statusor).value()

#endif  // EXPLAINER_COMMON_STATUS_MACROS_H_
