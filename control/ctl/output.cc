#include "control/ctl/output.h"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>

namespace tartan::ctl {
namespace {

// What a YAML 1.1 reader (go-yaml v2 as kubectl uses it, PyYAML) or a YAML
// 1.2 one would take for something other than a string when written plain:
// booleans (yes/no/on/off/y/n too), null, ints (0x, 0o, 0b, octal,
// sexagesimal: a MAC such as 12:34:56:12:34:56 is one), floats (1e3,
// .inf), timestamps, and the merge/value keys.
bool reads_as_non_string(const std::string& s) {
  static const std::regex kNonString(
      "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
      "|~|null|Null|NULL|<<|="
      "|[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?"
      "|[-+]?([0-9][0-9_]*)?\\.?[0-9_]*([eE][-+]?[0-9]+)?"
      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)"
      "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?");
  return s.empty() || std::regex_match(s, kNonString);
}

// Block style as kubectl prints, keys sorted (protobuf prints a map's
// entries in no fixed order); a string another reader would take for
// something else is double-quoted.
void emit_block(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    if (j.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    out << YAML::Block << YAML::BeginMap;
    for (const auto& [key, value] : j.items()) {
      out << YAML::Key;
      if (reads_as_non_string(key)) out << YAML::DoubleQuoted;
      out << key << YAML::Value;
      emit_block(out, value);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    if (j.empty()) {
      out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    out << YAML::Block << YAML::BeginSeq;
    for (const nlohmann::json& item : j) emit_block(out, item);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (reads_as_non_string(s)) out << YAML::DoubleQuoted;
    out << s;
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();  // a number or a boolean, as JSON writes it
  }
}

}  // namespace

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
  emit_block(out, nlohmann::json::parse(to_json(m)));
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

std::string or_none(const std::string& s) {
  return s.empty() ? "<none>" : s;
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
