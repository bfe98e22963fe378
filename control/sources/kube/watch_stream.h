// A watch response's bytes to events. The API server writes one JSON
// object per event ({"type":..., "object":...} and a newline) into a
// chunked body, and neither chunks nor reads respect event boundaries: one
// read may hold several events, one event may span many reads. The
// splitter finds where each top-level value ends by its brackets (outside
// strings, escapes included), whatever the pieces; a value is then decoded
// on its own.
//
// A hand-written scanner because nlohmann-json parses complete texts only
// (its SAX interface cannot be resumed at a chunk boundary).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "control/sources/kube/kube_status.h"
#include "control/sources/kube/node_decoder.h"
#include "engine/status.h"

namespace tartan {

class JsonStreamSplitter {
 public:
  static constexpr size_t kMaxDepth = 256;

  explicit JsonStreamSplitter(size_t max_value_bytes) : max_value_bytes_(max_value_bytes) {}

  // Feeds the next bytes, calling `on_value` with the text of each object
  // they complete (valid during the call only). Errors, after which every
  // feed fails: anything but whitespace or '{' between values, a value
  // over max_value_bytes or nested deeper than kMaxDepth, and on_value's
  // own error.
  Status feed(std::string_view bytes, const std::function<Status(std::string_view)>& on_value);

  // Bytes of a value begun and not finished: a stream that ends now was
  // cut in the middle of an event.
  size_t pending() const { return depth_ > 0 ? buffer_.size() : 0; }

 private:
  Status fail(Status s) {
    failed_ = s;
    return s;
  }

  const size_t max_value_bytes_;
  std::string buffer_;  // the unfinished value's bytes from earlier feeds
  size_t depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  size_t offset_ = 0;  // bytes fed so far, for messages
  Status failed_;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
const char* watch_event_name(WatchEventType type);  // "ADDED", ...

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // ADDED, MODIFIED, DELETED: the Node. BOOKMARK: only resource_version
  // (the object carries nothing else of use).
  KubeNode node;
  KubeApiStatus error;  // ERROR: the Status (code 410, reason Expired: relist)
};

// One event's JSON. Errors name the field ("object.metadata.name: missing").
Result<WatchEvent> decode_watch_event(std::string_view json, const NodeDecodeOptions& options);

}  // namespace tartan
