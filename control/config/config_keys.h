// The keys tartand's config accepts: the one list the loader checks every
// map against (an unknown key is an error naming the keys allowed there) and
// the README's configuration reference is tested against
// (tests/unit/docs_agreement_test.cc).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tartan {

// Every leaf key as a dotted path from the top of the file; a list's
// elements are `[]` ("ports.overlay[].device"). flannel's net-conf keys
// (under "network.") are spelled as flannel documents them.
std::span<const std::string_view> config_keys();

// The keys allowed directly in the map at `section` ("" for the top level,
// "ports.overlay[]" for an overlay port), each once, in the list's order.
std::vector<std::string> config_keys_in(std::string_view section);

}  // namespace tartan
