// Standard base64 (RFC 4648 section 4, with padding), as Go's
// base64.StdEncoding reads and writes it: kubeconfig's []byte fields and
// WireGuard's keys (wgtypes.ParseKey, Key.String).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tartan {

// The bytes `text` encodes; whitespace (a file's trailing newline) is
// ignored. nullopt unless the rest is whole 4-character groups of the
// standard alphabet.
std::optional<std::string> decode_base64(std::string_view text);

std::string encode_base64(std::string_view bytes);

}  // namespace tartan
