// How tartanctl prints: aligned tables by default (as kubectl does), or the
// API message as JSON or YAML for scripts.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace tartan::ctl {

enum class Output { kTable, kJson, kYaml };

std::string to_json(const google::protobuf::Message& m);
std::string to_yaml(const google::protobuf::Message& m);

// Prints `m` as JSON or YAML when asked and returns true; false for tables.
bool print_structured(const google::protobuf::Message& m, Output output);

// Columns padded to their widest cell; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

// A table cell for a value that may be absent: "<none>" for "".
std::string or_none(const std::string& s);

}  // namespace tartan::ctl
