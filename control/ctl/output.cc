#include "control/ctl/output.h"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

namespace tartan::ctl {

std::string to_json(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, opts);
  return json;
}

std::string to_yaml(const google::protobuf::Message& m) {
  YAML::Emitter out;
  out << YAML::Load(to_json(m));
  return std::string(out.c_str()) + "\n";
}

bool print_structured(const google::protobuf::Message& m, Output output) {
  if (output == Output::kJson) {
    std::printf("%s", to_json(m).c_str());
  } else if (output == Output::kYaml) {
    std::printf("%s", to_yaml(m).c_str());
  } else {
    return false;
  }
  return true;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace tartan::ctl
