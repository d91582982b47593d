// Early-return helpers for absl::Status / absl::StatusOr, as in most Abseil codebases
// (Abseil does not export its own).
#ifndef EXPLAINER_COMMON_STATUS_MACROS_H_
#define EXPLAINER_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EXPLAINER_CONCAT_INNER_(a, b) a##b
#define EXPLAINER_CONCAT_(a, b) EXPLAINER_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` when it is not OK.
#define RETURN_IF_ERROR(expr)                                      \
  do {                                                             \
    const ::absl::Status explainer_status_ = (expr);               \
    if (!explainer_status_.ok()) return explainer_status_;         \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): `lhs = *expr` or return its error status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  EXPLAINER_ASSIGN_OR_RETURN_IMPL_(EXPLAINER_CONCAT_(statusor_, __LINE__), lhs, expr)

#define EXPLAINER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();    \
  lhs = std::move(statusor).value()

#endif  // EXPLAINER_COMMON_STATUS_MACROS_H_
