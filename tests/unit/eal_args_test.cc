// The EAL command line tartand builds: an --lcores map among extra_args
// replaces tartan's own -l, so lcores can share CPUs.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/eal.h"

namespace tartan {
namespace {

bool has(const std::vector<std::string>& args, const std::string& a) {
  return std::find(args.begin(), args.end(), a) != args.end();
}

TEST(EalArgs, LcoresAreListedWithDashL) {
  EngineConfig c;
  c.workers.lcores = {1, 2};
  const auto args = build_eal_args(c, false);
  auto l = std::find(args.begin(), args.end(), "-l");
  ASSERT_NE(l, args.end());
  EXPECT_EQ(*(l + 1), "0,1,2");
  EXPECT_TRUE(has(args, "--main-lcore"));
}

TEST(EalArgs, AnLcoresMapInExtraArgsReplacesDashL) {
  EngineConfig c;
  c.workers.lcores = {1, 2};
  c.eal.extra_args = {"--lcores=0@0,1@1,2@0"};
  auto args = build_eal_args(c, false);
  EXPECT_FALSE(has(args, "-l"));
  EXPECT_TRUE(has(args, "--lcores=0@0,1@1,2@0"));
  EXPECT_TRUE(has(args, "--main-lcore"));
  c.eal.extra_args = {"--lcores", "(0-2)@0"};
  args = build_eal_args(c, false);
  EXPECT_FALSE(has(args, "-l"));
}

}  // namespace
}  // namespace tartan
