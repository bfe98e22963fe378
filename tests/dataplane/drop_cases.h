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
  bool ipv6 = false;  // the fixture has an IPv6 underlay (FixtureOptions::ipv6)
};

// Each case expects node 2 added (EngineFixture::add_node(2)), and over
// IPv6 too for an IPv6 case: what setup() does.
const std::vector<DropCase>& drop_cases();
inline FixtureOptions drop_case_options(const DropCase& c) {
  return {.ipv6 = c.ipv6};
}
inline void setup(EngineFixture& fx, const DropCase& c) {
  fx.add_node(2);
  if (c.ipv6) fx.add_node6(2);
}

}  // namespace tartan::testing
