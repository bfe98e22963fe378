#include "control/sources/kube/watch_stream.h"

#include <cstdio>

namespace tartan {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

}  // namespace

Status JsonStreamSplitter::feed(std::string_view bytes,
                                const std::function<Status(std::string_view)>& on_value) {
  if (!failed_.ok()) return failed_;
  size_t start = 0;  // where the current value's bytes in `bytes` begin
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (depth_ == 0) {
      if (is_space(c)) continue;
      if (c != '{') {
        char what[96];
        std::snprintf(what, sizeof what, "watch stream: byte 0x%02x at offset %zu is not '{'",
                      static_cast<unsigned char>(c), offset_ + i);
        return fail(Status::invalid(what));
      }
      start = i;
      depth_ = 1;
      continue;
    }
    if (buffer_.size() + (i - start) + 1 > max_value_bytes_) {
      return fail(Status(ErrorCode::kResourceExhausted, "watch stream: an event larger than " +
                                                            size_text(max_value_bytes_) +
                                                            " (lease.kube.max_response_mb)"));
    }
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      if (++depth_ > kMaxDepth) {
        return fail(Status::invalid("watch stream: an event nested deeper than " +
                                    std::to_string(kMaxDepth)));
      }
    } else if (c == '}' || c == ']') {
      if (--depth_ > 0) continue;
      const std::string_view piece = bytes.substr(start, i + 1 - start);
      Status s;
      if (buffer_.empty()) {
        s = on_value(piece);
      } else {
        buffer_.append(piece);
        s = on_value(buffer_);
        buffer_.clear();
      }
      if (!s.ok()) return fail(s);
    }
  }
  if (depth_ > 0) buffer_.append(bytes.substr(start));
  offset_ += bytes.size();
  return {};
}

const char* watch_event_name(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "?";
}

Result<WatchEvent> decode_watch_event(std::string_view text, const NodeDecodeOptions& options) {
  auto doc = parse_kept(text, NodeDocument::kWatchEvent, options);
  if (!doc) return Status::invalid("watch event: " + doc.status().message());
  if (!doc->is_object()) return Status::invalid("watch event: not a JSON object");
  const auto type = doc->find("type");
  if (type == doc->end() || !type->is_string()) return Status::invalid("type: missing");
  const auto object = doc->find("object");
  if (object == doc->end() || !object->is_object()) return Status::invalid("object: missing");

  WatchEvent e;
  const std::string& name = type->get_ref<const std::string&>();
  if (name == "ADDED" || name == "MODIFIED" || name == "DELETED") {
    e.type = name == "ADDED"      ? WatchEventType::kAdded
             : name == "MODIFIED" ? WatchEventType::kModified
                                  : WatchEventType::kDeleted;
    auto node = node_from_json(*object, "object.", options);
    if (!node) return node.status();
    e.node = std::move(*node);
  } else if (name == "BOOKMARK") {
    e.type = WatchEventType::kBookmark;
    const nlohmann::json* rv = nullptr;
    if (const auto meta = object->find("metadata"); meta != object->end() && meta->is_object()) {
      if (const auto it = meta->find("resourceVersion"); it != meta->end()) rv = &*it;
    }
    if (rv == nullptr || !rv->is_string() || rv->get_ref<const std::string&>().empty())
      return Status::invalid("object.metadata.resourceVersion: missing");
    e.node.resource_version = rv->get<std::string>();
  } else if (name == "ERROR") {
    e.type = WatchEventType::kError;
    auto status = kube_api_status(*object);
    if (!status) return Status::invalid("object: not a Status");
    e.error = std::move(*status);
  } else {
    return Status::invalid("type: unknown event type '" + name + "'");
  }
  return e;
}

}  // namespace tartan
