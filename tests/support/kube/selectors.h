// labelSelector and fieldSelector of a LIST or WATCH, parsed and matched as
// k8s.io/apimachinery/pkg/labels and pkg/fields do. The fields a Node can
// be selected by are those of pkg/registry/core/node/strategy.go
// (NodeToSelectableFields): metadata.name and spec.unschedulable.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/kube/status.h"

namespace tartan::testing::kube {

// A selector the server refuses with 400 and this message.
struct SelectorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Selector {
 public:
  Selector() = default;
  // Throws SelectorError.
  Selector(const std::string& label_selector, const std::string& field_selector);

  bool empty() const { return labels_.empty() && fields_.empty(); }
  bool matches(const Json& node) const;

 private:
  enum class Op { kExists, kNotExists, kEquals, kNotEquals, kIn, kNotIn, kGreater, kLess };
  struct LabelRequirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  struct FieldRequirement {
    std::string field;
    bool equals;
    std::string value;
  };

  static std::vector<LabelRequirement> parse_labels(const std::string& s);
  static std::vector<FieldRequirement> parse_fields(const std::string& s);

  std::vector<LabelRequirement> labels_;
  std::vector<FieldRequirement> fields_;
};

}  // namespace tartan::testing::kube
