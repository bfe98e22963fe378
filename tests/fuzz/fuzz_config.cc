// tartand's YAML config loader (control/config_loader parse_config) on any
// text. Whatever the input: no crash and no exception escapes; a config
// that loads is printed (config_to_yaml, as --print-config does) as YAML
// that loads again to the same printed config.
#include <string>
#include <string_view>

#include "control/config/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tartan::Config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = tartan::parse_config(text, "fuzz.yaml");
  if (!config) {
    FUZZ_CHECK(config.status().message().rfind("fuzz.yaml", 0) == 0,
               "a config error that does not name the file: " + config.status().message());
    return 0;
  }
  const std::string printed = tartan::config_to_yaml(*config);
  auto again = tartan::parse_config(printed, "printed.yaml");
  FUZZ_CHECK(again.ok(), "the printed config does not load: " + again.status().message() +
                             "\n--- input:\n" + std::string(text) + "\n--- printed:\n" + printed);
  const std::string reprinted = tartan::config_to_yaml(*again);
  FUZZ_CHECK(reprinted == printed,
             "printing is not stable:\n--- first:\n" + printed + "\n--- second:\n" + reprinted);
  return 0;
}
