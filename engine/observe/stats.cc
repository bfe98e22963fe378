#include "engine/observe/stats.h"

namespace tartan {
namespace {

struct DropReasonInfo {
  const char* name;
  const char* help;
};

constexpr DropReasonInfo kDropReasons[] = {
#define TARTAN_DROP_INFO(e, name, help) {name, help},
    TARTAN_DROP_REASONS(TARTAN_DROP_INFO)
#undef TARTAN_DROP_INFO
};

}  // namespace

const char* drop_reason_name(DropReason reason) {
  return kDropReasons[static_cast<size_t>(reason)].name;
}
const char* drop_reason_help(DropReason reason) {
  return kDropReasons[static_cast<size_t>(reason)].help;
}

}  // namespace tartan
