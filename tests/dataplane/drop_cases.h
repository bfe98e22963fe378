// The frames that provoke each drop reason the fixture can reach with one
// packet (drop_reasons_test.cc), shared with the tests that check what else
// sees those drops (trace_test.cc).
#pragma once

#include <functional>
#include <vector>

#include "engine/observe/stats.h"
#include "tests/support/engine_fixture.h"

namespace tartan::testing {

struct DropCase {
  const char* name;
  bool from_underlay;
  std::function<Bytes(const EngineFixture&)> frame;
  DropReason reason;
};

// Each case expects node 2 added (EngineFixture::add_node(2)).
const std::vector<DropCase>& drop_cases();

}  // namespace tartan::testing
