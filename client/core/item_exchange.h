// What goes out for one image and what comes back: the request read from the
// image's files, and the item record made from its answer (one per answer, for
// results.jsonl and every command's own use of the result).
#ifndef EXPLAINER_CLIENT_CORE_ITEM_EXCHANGE_H_
#define EXPLAINER_CLIENT_CORE_ITEM_EXCHANGE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "client/image_walker.h"
#include "client/item_record.h"
#include "client/streaming_explainer.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

// The request of `item`: its id, its image bytes, `options`, and its paired
// annotation unless options skip the explanation. The item's skip status, or the
// read error naming the file, when it cannot be built (the item is then not sent).
absl::StatusOr<explainer::v1::ExplainRequest> BuildItemRequest(
    const ImageItem& item, const explainer::v1::ExplainOptions& options, int64_t max_bytes);

// The record of one answer: file, ids, round trip, and either the server's whole
// result (moved out of the answer, heatmaps and PNGs included) or the error: the
// server's per-item error, or a client one (not sent, stream ended, empty answer).
ItemRecord RecordAnswer(const ImageItem& item, StreamAnswer& answer);

// An error as one line: "INVALID_ARGUMENT: message" for the server's, the message
// alone for the client's (it already says what happened).
std::string ItemErrorText(const ItemError& error);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_CORE_ITEM_EXCHANGE_H_
